"""Labels of the reviewers' pages (web/review_pages.py): the work lists, the call sheet, the
pregnancy search and the reviewer's home panel. Merged into ``i18n.LABELS``; every key in both
languages, prefixed (``wl_``, ``search_``) so that no other page's key is replaced."""

from __future__ import annotations

REVIEW_LABELS: dict[str, dict[str, str]] = {
    "nav_worklists": {"zh": "工作清单", "en": "Work lists"},
    "nav_search": {"zh": "孕产妇查询", "en": "Find a pregnancy"},
    "wl_for_reviewers": {
        "zh": "此页面供审核人员（高危孕产妇管理）使用，您的角色无权访问",
        "en": "This page is for reviewers (case work); your role may not open it",
    },
    "wl_cs_not_entitled": {
        "zh": "电话随访单含完整姓名与电话，您的角色无权查看个人信息",
        "en": "The call sheet shows full names and phones, which your role may not read",
    },
    # the work lists
    "wl_title": {"zh": "工作清单", "en": "Work lists"},
    "wl_tabs": {"zh": "清单", "en": "Lists"},
    "wl_all": {"zh": "全部清单", "en": "All lists"},
    "wl_as_of": {"zh": "清单日期", "en": "Lists as of"},
    "wl_not_run": {
        "zh": "尚未生成清单（work_lists 任务每日零点后运行）",
        "en": "No lists yet (the work_lists job runs just after midnight)",
    },
    "wl_filters": {"zh": "筛选条件", "en": "Filters"},
    "wl_colour": {"zh": "颜色", "en": "Colour"},
    "wl_street": {"zh": "镇街", "en": "Street or town"},
    "wl_institution": {"zh": "机构", "en": "Institution"},
    "wl_assignee": {"zh": "负责人（用户名）", "en": "Assignee (username)"},
    "wl_overdue": {"zh": "是否逾期", "en": "Overdue"},
    "wl_any": {"zh": "全部", "en": "Any"},
    "wl_overdue_yes": {"zh": "已逾期", "en": "Overdue"},
    "wl_overdue_no": {"zh": "未逾期", "en": "Not overdue"},
    "wl_sort": {"zh": "排序", "en": "Sort by"},
    "wl_descending": {"zh": "倒序", "en": "Reverse order"},
    "wl_page_size": {"zh": "每页条数", "en": "Per page"},
    "wl_sort_urgency": {"zh": "紧急程度（默认）", "en": "Urgency (default)"},
    "wl_sort_since": {"zh": "起始日期", "en": "Since"},
    "wl_sort_due": {"zh": "下次到期", "en": "Next due"},
    "wl_sort_colour": {"zh": "颜色", "en": "Colour"},
    "wl_sort_name": {"zh": "姓名", "en": "Name"},
    "wl_sort_street": {"zh": "镇街", "en": "Street or town"},
    "wl_sort_institution": {"zh": "机构", "en": "Institution"},
    "wl_apply": {"zh": "筛选", "en": "Apply"},
    "wl_clear": {"zh": "清除筛选", "en": "Clear the filters"},
    "wl_export_xlsx": {"zh": "导出 Excel", "en": "Export XLSX"},
    "wl_export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "wl_call_sheet": {"zh": "打印电话随访单", "en": "Print the call sheet"},
    "wl_exports_help": {
        "zh": "导出与随访单为当前筛选后的全部事项（不分页）；显示完整姓名和电话均记入审计。",
        "en": (
            "Exports and the call sheet hold every item of the filtered list (not one page); "
            "showing full names and phones is audited."
        ),
    },
    "wl_colour_red": {"zh": "红", "en": "Red"},
    "wl_colour_orange": {"zh": "橙", "en": "Orange"},
    "wl_colour_yellow": {"zh": "黄", "en": "Yellow"},
    "wl_colour_green": {"zh": "绿", "en": "Green"},
    "wl_colour_purple": {"zh": "紫", "en": "Purple"},
    "wl_colour_none": {"zh": "未评估", "en": "Not graded"},
    "wl_caption": {"zh": "工作事项（最紧急的在前）", "en": "Work items (most urgent first)"},
    "wl_col_colour": {"zh": "颜色", "en": "Colour"},
    "wl_col_woman": {"zh": "孕产妇", "en": "Woman"},
    "wl_col_phone": {"zh": "电话", "en": "Phone"},
    "wl_col_why": {"zh": "清单、原因与起始", "en": "List, why and since"},
    "wl_col_ga": {"zh": "孕周 / 预产期", "en": "GA / EDD"},
    "wl_col_contact": {"zh": "末次联系 / 下次到期", "en": "Last contact / next due"},
    "wl_col_place": {
        "zh": "镇街 / 责任社区卫生服务中心",
        "en": "Street / responsible community health centre",
    },
    "wl_col_assignee": {"zh": "负责人", "en": "Assignee"},
    "wl_col_risk": {"zh": "高危因素", "en": "Risk factors"},
    "wl_since": {"zh": "起始", "en": "since"},
    "wl_days_overdue": {"zh": "（逾期 {n} 天）", "en": "({n} days overdue)"},
    "wl_weeks": {"zh": "周", "en": " wk"},
    "wl_postpartum_days": {"zh": "产后第 {n} 天", "en": "{n} days postpartum"},
    "wl_edd": {"zh": "预产期", "en": "EDD"},
    "wl_last_contact": {"zh": "末次联系", "en": "Last contact"},
    "wl_next_due": {"zh": "下次到期", "en": "Next due"},
    "wl_unassigned": {"zh": "未分配", "en": "Unassigned"},
    "wl_street_missing": {"zh": "无镇街地址", "en": "No street on record"},
    "wl_institutions": {"zh": "就诊机构", "en": "Cared for at"},
    "wl_page_of": {
        "zh": "第 {page}/{last} 页，共 {total} 条",
        "en": "Page {page} of {last}, {total} items",
    },
    "wl_prev": {"zh": "上一页", "en": "Previous page"},
    "wl_next": {"zh": "下一页", "en": "Next page"},
    "wl_paging": {"zh": "翻页", "en": "Pages"},
    "wl_empty": {"zh": "没有符合条件的工作事项", "en": "No items match"},
    "wl_no_factors": {"zh": "未记录因素", "en": "no factors recorded"},
    # a filter the address gave that the lists do not take: named, with what it takes
    "wl_bad_filters": {
        "zh": "以下筛选条件无效，已忽略；其余筛选条件照常应用：",
        "en": "These filters were not understood and are left out; the others apply:",
    },
    "wl_bad_filter": {
        "zh": "{name}不接受“{value}”，可选：{choices}",
        "en": "{name} does not take “{value}”; choose one of: {choices}",
    },
    "wl_list": {"zh": "清单", "en": "List"},
    "wl_page": {"zh": "页码", "en": "Page"},
    "wl_page_whole": {"zh": "从 1 起的整数", "en": "a whole number from 1"},
    "wl_page_size_range": {"zh": "1 至 {n} 的整数", "en": "a whole number from 1 to {n}"},
    "wl_no_streets": {"zh": "（无可选镇街）", "en": "(no streets to choose)"},
    "wl_sep": {"zh": "、", "en": ", "},
    "wl_not_shown": {"zh": "无权查看", "en": "not shown"},
    # the call sheet
    "wl_cs_title": {"zh": "电话随访单", "en": "Call sheet"},
    "wl_cs_print": {"zh": "打印", "en": "Print"},
    "wl_cs_back": {"zh": "返回工作清单", "en": "Back to the work lists"},
    "wl_cs_no": {"zh": "序号", "en": "No."},
    "wl_cs_name": {"zh": "姓名", "en": "Name"},
    "wl_cs_result": {"zh": "随访结果", "en": "Outcome"},
    "wl_cs_notes": {"zh": "备注", "en": "Notes"},
    "wl_cs_caller": {"zh": "随访人", "en": "Called by"},
    "wl_cs_date": {"zh": "随访日期", "en": "Date"},
    "wl_cs_audited": {
        "zh": (
            "本单显示完整姓名与电话，仅供随访使用，每位孕产妇的显示均已记入审计。"
            "用后请妥善保管或销毁。"
        ),
        "en": (
            "Full names and phones, for calling only; each woman shown is recorded in the "
            "audit log. Keep the printout safe, or destroy it after use."
        ),
    },
    "wl_cs_truncated": {
        "zh": "仅列出前 {limit} 条（共 {total} 条），请缩小筛选范围",
        "en": "The first {limit} of {total} items only: narrow the filters",
    },
    "wl_cs_outcomes": {
        "zh": (
            "结果代码：已联系，情况正常 / 已联系，需就诊 / 已预约检查 / 已转诊 / "
            "未联系上 / 拒绝随访 / 其他"
        ),
        "en": (
            "Outcomes: reached / reached, needs care / booked / referred / not reached / "
            "refused / other"
        ),
    },
    # the home panel
    "wl_home_caption": {"zh": "我的工作清单（逾期优先）", "en": "My work lists (overdue first)"},
    "wl_col_list": {"zh": "清单", "en": "List"},
    "wl_col_items": {"zh": "事项数", "en": "Items"},
    "wl_col_overdue": {"zh": "其中逾期", "en": "Of which overdue"},
    "wl_home_empty": {"zh": "您的清单中暂无事项", "en": "Nothing on your lists"},
    "wl_open_lists": {"zh": "打开工作清单", "en": "Open the work lists"},
    # the pregnancy search
    "search_title": {"zh": "孕产妇查询", "en": "Find a pregnancy"},
    "search_by": {"zh": "查询方式", "en": "Search by"},
    "search_by_resident_id": {"zh": "身份证号", "en": "Resident ID"},
    "search_by_mrn": {"zh": "病案号（门诊号/住院号）", "en": "MRN (medical record number)"},
    "search_by_name": {"zh": "姓名", "en": "Name"},
    "search_value": {"zh": "身份证号、病案号或姓名", "en": "Resident ID, MRN or name"},
    "search_institution": {
        "zh": "机构（按病案号或姓名查询时可选）",
        "en": "Institution (optional, with an MRN or a name)",
    },
    "search_birth_date": {
        "zh": "出生日期（按姓名查询时可选，用于区分同名）",
        "en": "Date of birth (optional, with a name: tells namesakes apart)",
    },
    "search_any_institution": {"zh": "任一机构", "en": "Any institution"},
    "search_submit": {"zh": "查询", "en": "Search"},
    "search_help": {
        "zh": (
            "精确匹配（经加密散列比对，不做模糊或部分匹配）；只显示您管辖范围内的档案；"
            "每次查询均记入审计（不记录查询内容）。查询内容以表单提交，不会出现在网址中。"
        ),
        "en": (
            "Exact match (through a keyed hash; never in part); only pregnancies in your "
            "jurisdiction; every search is audited (without the value). The value is posted, "
            "never put in the address."
        ),
    },
    "search_name_help": {
        "zh": (
            "按姓名查询须输入完整姓名（忽略空格及全角、半角之别），不做部分或近似匹配；"
            "同名者可能有多位，可加出生日期或机构缩小范围。"
        ),
        "en": (
            "A name search needs her full name (spaces and full-width forms do not matter); "
            "never a part of it, nor a near one. Namesakes are common: add the date of birth "
            "or the institution to narrow it."
        ),
    },
    "search_results": {"zh": "查询结果", "en": "Results"},
    "search_none": {
        "zh": "没有找到（或不在您的管辖范围内）",
        "en": "No match (or not in your jurisdiction)",
    },
    "search_truncated": {
        "zh": "匹配过多，仅显示前 50 条；请加出生日期或机构缩小范围",
        "en": "Too many matches: the first 50 only; add the date of birth or the institution",
    },
    "search_col_pregnancy": {"zh": "孕产妇档案", "en": "Pregnancy"},
    "search_col_lmp": {"zh": "末次月经", "en": "LMP"},
    "search_col_first_contact": {"zh": "首次接触", "en": "First contact"},
    "search_col_end": {"zh": "妊娠结束", "en": "Pregnancy ended"},
    "search_open": {"zh": "打开档案", "en": "Open the case"},
}
