"""Labels of the staff pages: Chinese first, English on request (?lang=en, kept in a cookie)."""

from __future__ import annotations

from fastapi import Request

from mch_service.indicators.display import NOT_ENTERED_LABELS
from mch_service.web.case_labels import CASE_LABELS
from mch_service.web.labels_review import REVIEW_LABELS

LANG_COOKIE = "mch_lang"

LABELS: dict[str, dict[str, str]] = {
    "app_name": {"zh": "妇幼健康信息服务", "en": "MCH information service"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_out": {"zh": "退出", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "Username"},
    "password": {"zh": "密码", "en": "Password"},
    "sign_in_failed": {
        "zh": "用户名或密码错误，或账号已锁定/停用",
        "en": "Wrong username or password, or the account is locked or disabled",
    },
    "sign_in_throttled": {
        "zh": "登录失败次数过多，请 {seconds} 秒后再试",
        "en": "Too many failed sign-ins; try again in {seconds} s",
    },
    "signed_in_as": {"zh": "当前用户", "en": "Signed in as"},
    "role_admin": {"zh": "管理员", "en": "Administrator"},
    "role_reviewer": {"zh": "审核员", "en": "Reviewer"},
    "role_monitor": {"zh": "监测组", "en": "Monitoring officer"},
    "switch_lang": {"zh": "English", "en": "中文"},
    "home_intro": {
        "zh": "高危孕产妇管理、指标监测等页面将在后续版本提供。",
        "en": "Case work and indicator pages follow in later versions.",
    },
    # Monitoring pages (web/monitor_pages.py): dashboard, indicator, data quality, home panel
    "nav_indicators": {"zh": "指标监测", "en": "Indicators"},
    "nav_data_quality": {"zh": "数据质量", "en": "Data quality"},
    "dash_title": {"zh": "妇幼健康指标监测", "en": "MCH indicator dashboard"},
    "view_form_label": {"zh": "查看范围", "en": "What to show"},
    "pick_period": {"zh": "统计期", "en": "Period"},
    "period_kind_quarter": {"zh": "季度", "en": "Quarters"},
    "period_kind_month": {"zh": "月份", "en": "Months"},
    "period_kind_year": {"zh": "日历年", "en": "Calendar years"},
    "period_kind_statistical_year": {
        "zh": "统计年度（上年10月–当年9月）",
        "en": "Statistical years (Oct–Sep)",
    },
    "period_kind_rolling_year": {"zh": "滚动12个月", "en": "Rolling 12 months"},
    "pick_area": {"zh": "地区", "en": "Area"},
    "area_district": {"zh": "全区", "en": "District"},
    "area_non_resident": {"zh": "非本区居民", "en": "Non-residents"},
    "area_address_unknown": {"zh": "住址不详", "en": "Address unknown"},
    "pick_institution": {"zh": "机构", "en": "Institution"},
    "all_institutions": {"zh": "全部机构", "en": "All institutions"},
    "show_view": {"zh": "查看", "en": "Show"},
    "period_help": {
        "zh": "统计期：月 2025-08、季度 2025-Q3、日历年 2025、统计年度 SY2025。地区按现住址；"
        "选择机构时为该机构服务的全部孕产妇。",
        "en": "Period: a month 2025-08, a quarter 2025-Q3, a year 2025, a statistical year "
        "SY2025. Areas by current address; an institution counts every woman it served.",
    },
    "provisional_until": {
        "zh": "暂定：数据仍在补报，{day} 起为最终数据",
        "en": "Provisional: records still arriving; final from {day}",
    },
    "period_final": {"zh": "最终数据", "en": "Final"},
    "computed_at": {"zh": "计算时间", "en": "Computed"},
    "no_figures_yet": {
        "zh": "尚无指标结果：指标任务运行后即可查看。",
        "en": "No figures yet: they appear once the indicator job has run.",
    },
    "downloads": {"zh": "下载", "en": "Download"},
    "dl_view_xlsx": {"zh": "本表 XLSX", "en": "This table (XLSX)"},
    "dl_view_csv": {"zh": "本表 CSV", "en": "This table (CSV)"},
    "dl_measure_reports": {"zh": "FHIR MeasureReport", "en": "FHIR MeasureReport"},
    "dl_official_report": {
        "zh": "正式报表（全区、各镇街、各机构）",
        "en": "Official report (district, streets, institutions)",
    },
    "indicators_caption": {"zh": "各项指标", "en": "Every indicator"},
    "col_indicator": {"zh": "指标", "en": "Indicator"},
    "col_numerator": {"zh": "分子", "en": "Numerator"},
    "col_denominator": {"zh": "分母", "en": "Denominator"},
    "col_rate": {"zh": "数值", "en": "Value"},
    "col_target": {"zh": "目标", "en": "Target"},
    "col_flags": {"zh": "标注", "en": "Markers"},
    "col_choices": {"zh": "计算口径", "en": "Definition choices"},
    "col_definition": {"zh": "定义", "en": "Definition"},
    "all_indicators": {"zh": "全部指标", "en": "every indicator"},
    "not_entered": {"zh": NOT_ENTERED_LABELS["zh"], "en": NOT_ENTERED_LABELS["en"]},
    "flag_small_numbers": {"zh": "小数字", "en": "Small numbers"},
    "flag_provisional": {"zh": "暂定", "en": "Provisional"},
    "flag_external": {"zh": "监测组填报", "en": "Entered"},
    "definition": {"zh": "定义", "en": "Definition"},
    "warnings_title": {"zh": "早期预警", "en": "Early warnings"},
    "warnings_caption": {"zh": "预警及其依据", "en": "Warnings and the figures behind them"},
    "warnings_provisional": {
        "zh": "本期为暂定数据，不产生预警（预警只用完整统计期）。",
        "en": "The period is provisional: no warnings (warnings use complete periods only).",
    },
    "no_warnings": {"zh": "本期无预警。", "en": "No warnings for this period."},
    "col_warning_kind": {"zh": "类型", "en": "Kind"},
    "col_reason": {"zh": "原因", "en": "Reason"},
    "col_method": {"zh": "判定方法", "en": "Method"},
    "col_points": {"zh": "依据（统计期：分子/分母 = 数值）", "en": "Points (period: n/d = value)"},
    "warning_off_target": {"zh": "未达目标", "en": "Off target"},
    "warning_trend": {"zh": "趋势预警", "en": "Trend"},
    "monitoring_guide": {"zh": "监测人员指南", "en": "Monitoring officer's guide"},
    "indicator_definitions": {"zh": "指标定义", "en": "Indicator definitions"},
    "back_to_dashboard": {"zh": "返回指标监测", "en": "Back to the dashboard"},
    "figure_label": {"zh": "本期数值", "en": "This period's figure"},
    "full_definition": {"zh": "完整定义与计算规则", "en": "Full definition and rules"},
    "trend_title": {"zh": "趋势", "en": "Trend"},
    "trend_table": {"zh": "以表格查看", "en": "As a table"},
    "chart_value": {"zh": "数值", "en": "Value"},
    "chart_target": {"zh": "目标", "en": "Target"},
    "col_period": {"zh": "统计期", "en": "Period"},
    "col_month": {"zh": "月份", "en": "Month"},
    "external_title": {"zh": "填报外部数据", "en": "Enter the external figure"},
    "external_help": {
        "zh": "{period} · {area}（全部机构）。再次填报将覆盖原数据；填报将记入审计日志。",
        "en": "{period} · {area} (all institutions). Entering again replaces the figure; "
        "every entry is audited.",
    },
    "ext_numerator": {"zh": "分子（例数）", "en": "Numerator"},
    "ext_denominator": {"zh": "分母", "en": "Denominator"},
    "ext_source": {"zh": "数据来源", "en": "Source (programme or report)"},
    "ext_note": {"zh": "备注", "en": "Note"},
    "save_external": {"zh": "保存", "en": "Save"},
    "ext_required_mark": {"zh": "（必填）", "en": " (required)"},
    "ext_err_required": {"zh": "此项必填", "en": "Required"},
    "ext_err_too_long": {"zh": "内容过长", "en": "Too long"},
    "ext_err_whole_number": {"zh": "请填写非负整数", "en": "Enter a whole number, 0 or more"},
    "ext_err_too_large": {"zh": "数值过大", "en": "Too large"},
    "ext_err_over_denominator": {
        "zh": "比例指标的分子不能大于分母",
        "en": "A proportion's numerator cannot exceed its denominator",
    },
    "external_not_allowed": {
        "zh": "您的角色不能填报外部数据。",
        "en": "Your role may not enter figures.",
    },
    "done_external_saved": {"zh": "外部数据已保存", "en": "Figure saved"},
    "drill_title": {"zh": "数值背后的记录", "en": "The records behind the figure"},
    "drill_counts": {
        "zh": "该数值共 {rows} 条记录（不论下方筛选）：计入分母 {units}，计入分子 {numerator}。",
        "en": "The figure rests on {rows} records (whatever the filter below): {units} in the "
        "denominator, {numerator} in the numerator.",
    },
    "drill_missed_only": {"zh": "只看未计入分子的", "en": "Only those missing the numerator"},
    "drill_criterion": {"zh": "未满足的条件", "en": "Criterion not met"},
    "drill_any_criterion": {"zh": "（任一）", "en": "(any)"},
    "apply_filter": {"zh": "筛选", "en": "Filter"},
    "dl_records_xlsx": {"zh": "记录 XLSX", "en": "Records (XLSX)"},
    "dl_records_csv": {"zh": "记录 CSV", "en": "Records (CSV)"},
    "drill_caption": {
        "zh": "第 {first}–{last} 条，共 {total} 条（身份信息已脱敏）",
        "en": "Rows {first}–{last} of {total} (identifiers masked)",
    },
    "col_woman": {"zh": "姓名", "en": "Name"},
    "col_resident_id": {"zh": "身份证号", "en": "Resident ID"},
    "col_date": {"zh": "日期", "en": "Date"},
    "col_street": {"zh": "镇街", "en": "Street"},
    "col_units": {"zh": "计入分母", "en": "Denominator units"},
    "col_in_numerator": {"zh": "计入分子", "en": "In the numerator"},
    "col_failed": {"zh": "未满足的条件（数值）", "en": "Criteria missed (value)"},
    "date_kind_delivery": {"zh": "分娩", "en": "delivery"},
    "date_kind_death": {"zh": "死亡", "en": "death"},
    "date_kind_diagnosis": {"zh": "诊断", "en": "diagnosis"},
    "yes": {"zh": "是", "en": "Yes"},
    "no": {"zh": "否", "en": "No"},
    "pager_label": {"zh": "翻页", "en": "Pages"},
    "prev_page": {"zh": "上一页", "en": "Previous"},
    "next_page": {"zh": "下一页", "en": "Next"},
    "dq_title": {"zh": "数据质量", "en": "Data quality"},
    "dq_intro": {
        "zh": "各报送机构的完整性、及时性、拒收、未对照编码和规则标记（每日任务计算）。"
        "点击机构查看其近12个月的趋势。延迟为收到日期与业务日期之差：历史数据补传（批量导入）"
        "的记录在补传当天收到，会使延迟显得很长。",
        "en": "Each sending institution's completeness, delay, rejections, unmapped codes and "
        "rule flags (the daily job computes them). Choose an institution for its 12-month trend. "
        "The delay is from the record's clinical date to its receipt: a history backfill ($import) "
        "is received on the day it is loaded, so its records show long delays.",
    },
    "dq_caption": {"zh": "各机构数据质量", "en": "Data quality per institution"},
    "dq_resources": {"zh": "记录数", "en": "Records"},
    "dq_rejected": {"zh": "拒收", "en": "Rejected"},
    "dq_rejection_rate": {"zh": "拒收率", "en": "Rejection rate"},
    "dq_resident_id_valid_share": {"zh": "身份证号有效", "en": "Valid resident ID"},
    "dq_street_share": {"zh": "有镇街代码", "en": "With street code"},
    "dq_delay_days_median": {"zh": "报送延迟中位数（天）", "en": "Median delay (days)"},
    "dq_late_share": {"zh": "超30天报送", "en": "Sent after 30 days"},
    "dq_unmapped_codes": {"zh": "未对照编码", "en": "Unmapped codes"},
    "dq_plausibility_flags": {"zh": "规则标记", "en": "Rule flags"},
    "dq_records": {"zh": "明细", "en": "Records"},
    "dq_link_figures": {"zh": "数据（JSON）", "en": "Figures (JSON)"},
    "dq_link_rejections": {"zh": "拒收记录（审计日志）", "en": "Rejections (audit log)"},
    "dq_link_unmapped": {"zh": "未对照编码清单", "en": "Unmapped codes"},
    "dq_none": {
        "zh": "尚无数据质量结果：数据质量任务运行后即可查看。",
        "en": "No figures yet: they appear once the data-quality job has run.",
    },
    "dq_trend_title": {"zh": "{name}：近12个月趋势", "en": "{name}: the last 12 months"},
    "dq_trend_rejections": {"zh": "拒收", "en": "Rejections"},
    "dq_trend_warnings": {"zh": "警告", "en": "Warnings"},
    "dq_trend_flags": {"zh": "规则标记", "en": "Rule flags"},
    "dq_trend_unmapped_codes": {"zh": "未对照编码", "en": "Unmapped codes"},
    "dq_trend_unresolved_references": {"zh": "无法解析的引用", "en": "Unresolved references"},
    "dq_trend_help": {
        "zh": "按接收月份统计（本区时区）；与该机构在 GET /fhir/$data-quality 看到的计数相同。",
        "en": "By month of receipt (the district's time zone); the counts the institution "
        "itself reads at GET /fhir/$data-quality.",
    },
    "dq_split_warnings": {"zh": "警告", "en": "warnings"},
    "dq_split_flags": {"zh": "标记", "en": "flags"},
    "dqr_title": {"zh": "{name}：{kind}明细", "en": "{name}: {kind}, record by record"},
    "dqr_intro": {
        "zh": "该数字背后的记录（实时查询）。错误信息中的引号内容、日期和数字串已隐去（…）。",
        "en": "The records behind the figure (read now). Quoted values, dates and digit runs in "
        "messages are hidden (…).",
    },
    "dqr_back": {"zh": "返回数据质量", "en": "Back to data quality"},
    "dqr_period": {"zh": "期间", "en": "Period"},
    "dqr_all_time": {"zh": "全部", "en": "all time"},
    "dqr_total": {"zh": "共", "en": "Total"},
    "dqr_kinds": {"zh": "明细类别", "en": "Kinds of record"},
    "dqr_none": {"zh": "没有记录。", "en": "No records."},
    "dqr_first_page": {"zh": "第一页", "en": "First page"},
    "dqr_json": {"zh": "本页数据（JSON）", "en": "This list (JSON)"},
    "dqr_kind_rejections": {"zh": "拒收", "en": "Rejections"},
    "dqr_kind_warnings": {"zh": "警告", "en": "Warnings"},
    "dqr_kind_flags": {"zh": "规则标记", "en": "Rule flags"},
    "dqr_kind_unmapped": {"zh": "未对照编码", "en": "Unmapped codes"},
    "dqr_kind_unresolved": {"zh": "无法解析的引用", "en": "Unresolved references"},
    "dqr_col_at": {"zh": "时间", "en": "When"},
    "dqr_col_action": {"zh": "操作", "en": "Action"},
    "dqr_col_resource_type": {"zh": "资源类型", "en": "Resource type"},
    "dqr_col_resource_id": {"zh": "资源ID", "en": "Resource id"},
    "dqr_col_status": {"zh": "状态码", "en": "Status"},
    "dqr_col_error": {"zh": "错误", "en": "Error"},
    "dqr_col_rule": {"zh": "规则", "en": "Rule"},
    "dqr_col_pregnancy_id": {"zh": "孕产记录", "en": "Pregnancy"},
    "dqr_col_element": {"zh": "元素", "en": "Element"},
    "dqr_col_message": {"zh": "说明", "en": "Message"},
    "dqr_col_last_updated": {"zh": "接收时间", "en": "Received"},
    "dqr_col_system": {"zh": "编码系统", "en": "System"},
    "dqr_col_code": {"zh": "编码", "en": "Code"},
    "dqr_col_display": {"zh": "名称", "en": "Display"},
    "dqr_col_count": {"zh": "次数", "en": "Times seen"},
    "dqr_col_first_seen": {"zh": "首次出现", "en": "First seen"},
    "dqr_col_last_seen": {"zh": "最近出现", "en": "Last seen"},
    "dqr_col_target": {"zh": "引用目标", "en": "Reference"},
    "home_monitor_title": {"zh": "本期指标", "en": "This period's indicators"},
    "home_off_target": {"zh": "未达标指标", "en": "Indicators off target"},
    "home_none_off_target": {"zh": "本期无未达标指标。", "en": "No indicator is off target."},
    "open_dashboard": {"zh": "打开指标监测", "en": "Open the dashboard"},
    "interface_guide": {"zh": "医院接口指南", "en": "Interface guide for hospitals"},
    "session_expired": {"zh": "请重新登录", "en": "Please sign in again"},
    "skip_to_content": {"zh": "跳到正文", "en": "Skip to content"},
    "nav_label": {"zh": "主菜单", "en": "Main menu"},
    "nav_home": {"zh": "首页", "en": "Home"},
    "nav_institutions": {"zh": "机构与密钥", "en": "Institutions and keys"},
    "nav_streets": {"zh": "镇街", "en": "Streets and towns"},
    "nav_users": {"zh": "工作人员账号", "en": "Staff accounts"},
    "nav_jobs": {"zh": "定时任务", "en": "Jobs"},
    "nav_audit": {"zh": "审计日志", "en": "Audit log"},
    "home_title": {"zh": "工作台", "en": "Overview"},
    "indicator_rules": {"zh": "指标口径", "en": "Indicator rules"},
    "refused_title": {"zh": "无权访问或操作未完成", "en": "Not allowed, or not done"},
    "done_saved": {"zh": "已保存", "en": "Saved"},
    "done_keys_revoked": {
        "zh": "该机构的密钥已全部吊销",
        "en": "The institution's keys are revoked",
    },
    "done_street_saved": {"zh": "镇街已保存", "en": "Street saved"},
    "done_user_added": {"zh": "账号已创建", "en": "Account created"},
    "done_user_disable": {"zh": "账号已停用", "en": "Account disabled"},
    "done_user_enable": {"zh": "账号已启用", "en": "Account enabled"},
    "done_user_reset_password": {
        "zh": "密码已重置，该用户的登录已全部失效",
        "en": "Password reset; the user's sessions are ended",
    },
    "done_user_jurisdiction": {"zh": "管辖范围已保存", "en": "Jurisdiction saved"},
    "done_user_revoke_tokens": {
        "zh": "该用户的登录已全部失效",
        "en": "The user's sessions are ended",
    },
    "done_job_ran": {"zh": "任务已运行", "en": "The job ran"},
    "done_job_failed": {
        "zh": "任务运行失败，见下表错误",
        "en": "The job failed; see the error below",
    },
    "institutions_caption": {
        "zh": "报送机构（医院、社区卫生服务中心）及其接口密钥",
        "en": "Sending institutions (hospitals, community health centres) and their API keys",
    },
    "col_id": {"zh": "编码", "en": "Id"},
    "col_name": {"zh": "名称", "en": "Name"},
    "col_name_en": {"zh": "英文名称", "en": "English name"},
    "col_kind": {"zh": "类型", "en": "Kind"},
    "col_status": {"zh": "状态", "en": "Status"},
    "col_keys": {"zh": "密钥（前缀）", "en": "Keys (prefix)"},
    "col_actions": {"zh": "操作", "en": "Actions"},
    "col_code": {"zh": "代码", "en": "Code"},
    "col_centre": {"zh": "责任社区卫生服务中心", "en": "Responsible community health centre"},
    "col_display_name": {"zh": "姓名", "en": "Display name"},
    "col_role": {"zh": "角色", "en": "Role"},
    "col_jurisdiction": {"zh": "管辖范围", "en": "Jurisdiction"},
    "col_streets": {"zh": "镇街代码", "en": "Street codes"},
    "col_institutions": {"zh": "机构编码", "en": "Institution ids"},
    "col_job": {"zh": "任务", "en": "Job"},
    "col_schedule": {"zh": "计划（cron）", "en": "Schedule (cron)"},
    "col_last_run": {"zh": "最近运行", "en": "Last run"},
    "col_trigger": {"zh": "触发方式", "en": "Trigger"},
    "col_started": {"zh": "开始", "en": "Started"},
    "col_finished": {"zh": "结束", "en": "Finished"},
    "col_rows": {"zh": "处理行数", "en": "Rows"},
    "col_error": {"zh": "错误", "en": "Error"},
    "col_time": {"zh": "时间", "en": "Time"},
    "col_institution": {"zh": "机构", "en": "Institution"},
    "col_last_push": {"zh": "最近报送", "en": "Last push"},
    "col_accepted_today": {"zh": "今日接收", "en": "Accepted today"},
    "col_refused_today": {"zh": "今日拒收", "en": "Refused today"},
    "feeds_caption": {"zh": "各机构数据报送情况（今日）", "en": "Feeds by institution (today)"},
    "no_push_30_days": {"zh": "30天内无报送", "en": "No push in 30 days"},
    "kind_hospital": {"zh": "医院", "en": "Hospital"},
    "kind_mch_hospital": {"zh": "妇幼保健院", "en": "MCH hospital"},
    "kind_chc": {"zh": "社区卫生服务中心", "en": "Community health centre"},
    "kind_other": {"zh": "其他", "en": "Other"},
    "active": {"zh": "启用", "en": "Active"},
    "disabled": {"zh": "已停用", "en": "Disabled"},
    "locked": {"zh": "已锁定", "en": "Locked"},
    "revoked": {"zh": "已吊销", "en": "revoked"},
    "revoke_old": {"zh": "同时吊销旧密钥", "en": "Revoke the old keys"},
    "confirm_revoke": {"zh": "确认（该机构将无法报送）", "en": "Confirm (it can no longer send)"},
    "rotate_key": {"zh": "生成新密钥", "en": "Issue a new key"},
    "revoke_keys": {"zh": "吊销全部密钥", "en": "Revoke all keys"},
    "none_yet": {"zh": "暂无", "en": "None yet"},
    "none_found": {"zh": "没有符合条件的记录", "en": "Nothing matches"},
    "add_institution": {"zh": "新增机构", "en": "Add an institution"},
    "institution_id_help": {
        "zh": "字母、数字、“-”或“.”，最多64位，如组织机构代码；创建后不可修改",
        "en": (
            "Letters, digits, '-' or '.', at most 64, e.g. the "
            "organisation code; cannot be changed later"
        ),
    },
    "key_issued_for": {"zh": "新密钥：", "en": "New API key for"},
    "key_shown_once": {
        "zh": "密钥只显示这一次，请立即复制并安全交给该机构；服务中只保存其摘要，无法再次查看。",
        "en": (
            "The key is shown this once: copy it now and hand it to the institution "
            "safely. The service keeps only its hash and cannot show it again."
        ),
    },
    "streets_caption": {
        "zh": "本区镇街及其责任社区卫生服务中心",
        "en": "The district's streets and towns and their responsible centres",
    },
    "set_street": {"zh": "新增或修改镇街", "en": "Add or change a street"},
    "street_code_help": {
        "zh": "统计用区划代码，如 440115001（区县代码加三位）",
        "en": "The statistical division code, e.g. 440115001 (the county code and three digits)",
    },
    "save": {"zh": "保存", "en": "Save"},
    "users_caption": {
        "zh": "工作人员账号、角色与管辖范围",
        "en": "Staff accounts, roles and jurisdictions",
    },
    "add_user": {"zh": "新增账号", "en": "Add an account"},
    "new_password": {"zh": "新密码", "en": "New password"},
    "reset_password": {"zh": "重置密码", "en": "Reset password"},
    "disable": {"zh": "停用", "en": "Disable"},
    "enable": {"zh": "启用", "en": "Enable"},
    "jurisdiction_help": {
        "zh": "审核员的管辖范围：镇街代码和/或机构编码，用逗号分隔；留空则不能查看任何个案",
        "en": (
            "A reviewer's jurisdiction: street codes and/or institution "
            "ids, separated by commas; empty means no cases"
        ),
    },
    "scheduler_held_by": {"zh": "调度进程", "en": "Scheduler"},
    "scheduler_none": {
        "zh": "无（请启动 mch-service worker）",
        "en": "none (start mch-service worker)",
    },
    "jobs_caption": {"zh": "定时任务", "en": "Scheduled jobs"},
    "runs_caption": {"zh": "最近运行记录", "en": "Recent runs"},
    "as_of": {"zh": "统计日期", "en": "As of"},
    "run_now": {"zh": "立即运行", "en": "Run now"},
    "run_running": {"zh": "运行中", "en": "running"},
    "run_succeeded": {"zh": "成功", "en": "succeeded"},
    "run_failed": {"zh": "失败", "en": "failed"},
    "trigger_scheduled": {"zh": "定时", "en": "scheduled"},
    "trigger_manual": {"zh": "手动", "en": "manual"},
    "audit_actor": {"zh": "操作者", "en": "Actor"},
    "audit_action": {"zh": "操作", "en": "Action"},
    "audit_outcome": {"zh": "结果", "en": "Outcome"},
    "audit_target_type": {"zh": "对象类型", "en": "Target type"},
    "audit_target_id": {"zh": "对象", "en": "Target"},
    "audit_since": {"zh": "起（含时区）", "en": "Since (with offset)"},
    "audit_until": {"zh": "止（含时区）", "en": "Until (with offset)"},
    "audit_request_id": {"zh": "请求号", "en": "Request id"},
    "audit_caption": {
        "zh": "审计记录（最新在前，每页100条）",
        "en": "Audit events (newest first, 100 a page)",
    },
    "audit_help": {
        "zh": (
            "操作以“.”结尾时按前缀查询，如 cases.；"
            "时间如 2025-06-30T00:00:00+08:00。查询本身也记入审计。"
        ),
        "en": (
            "An action ending in '.' is a prefix, e.g. cases.; times like "
            "2025-06-30T00:00:00+08:00. Searching is itself audited."
        ),
    },
    "search": {"zh": "查询", "en": "Search"},
    "export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "older": {"zh": "更早的记录", "en": "Older events"},
    "nav_code_tables": {
        "zh": "代码对照表",
        "en": "Code tables",
    },
    "code_tables_intro": {
        "zh": (
            "服务按对照表识别各机构上报的编码（检验项目、结果、诊断、药物等）。"
            "默认表随程序提供；本站的表可在此上传。"
        ),
        "en": (
            "The service recognises each sender's codes (tests, results, diagnoses, drugs) "
            "by these tables. The defaults ship with the service; "
            "the site's own tables are uploaded here."
        ),
    },
    "code_tables_doc": {
        "zh": "文件格式说明",
        "en": "File format",
    },
    "code_table_saved": {
        "zh": "已检查并保存",
        "en": "Checked and saved",
    },
    "code_table_next": {
        "zh": "新对照表只用于此后收到的记录；已保存的记录需运行 domain_rebuild 任务后按新表解读：",
        "en": (
            "The new table reads records received from now on; "
            "run the domain_rebuild job to re-read those stored:"
        ),
    },
    "codes_in_force": {
        "zh": "现行编码数",
        "en": "Codes in force",
    },
    "site_tables": {
        "zh": "本站对照表",
        "en": "The site's tables",
    },
    "code_tables_no_folder": {
        "zh": "未设置 MCH_CODE_TABLES_DIR：请先设置本站对照表目录并重启服务，才能上传。",
        "en": (
            "MCH_CODE_TABLES_DIR is not set: set the site's folder "
            "and restart the service before uploading."
        ),
    },
    "confirm_delete": {
        "zh": "确认删除",
        "en": "Confirm",
    },
    "delete": {
        "zh": "删除",
        "en": "Delete",
    },
    "code_table_file": {
        "zh": "CSV 文件（UTF-8）",
        "en": "CSV file (UTF-8)",
    },
    "code_table_name": {
        "zh": "表名",
        "en": "Table name",
    },
    "code_table_name_help": {
        "zh": "字母、数字、“-”或“_”；留空则用文件名。同名的表会被替换。",
        "en": (
            "Letters, digits, '-' or '_'; empty: the file's "
            "name. A table of the same name is replaced."
        ),
    },
    "upload_and_check": {
        "zh": "上传并检查",
        "en": "Upload and check",
    },
    "filter_codes": {
        "zh": "筛选（概念、编码、名称、来源）",
        "en": "Filter (concept, code, display, source)",
    },
    "codes_caption": {
        "zh": "现行编码",
        "en": "Codes in force",
    },
    "first": {
        "zh": "显示前",
        "en": "showing the first",
    },
    "col_concept": {
        "zh": "概念",
        "en": "Concept",
    },
    "col_system": {
        "zh": "编码系统",
        "en": "System",
    },
    "col_display": {
        "zh": "名称",
        "en": "Display",
    },
    "col_value": {
        "zh": "值",
        "en": "Value",
    },
    "col_unit": {
        "zh": "单位",
        "en": "Unit",
    },
    "col_source": {
        "zh": "来源",
        "en": "Source",
    },
    "done_code_table_deleted": {
        "zh": "对照表已删除；重建派生数据后生效",
        "en": "Table deleted; rebuild the derived data for it to take effect",
    },
    # Work lists (mch_service/cases/worklists.py LISTS): "list_<key>"
    "list_follow_up_due": {"zh": "随访到期", "en": "Follow-up due"},
    "list_report_late": {"zh": "报告超时", "en": "Reported late"},
    "list_outcome_unknown": {"zh": "妊娠结局不明", "en": "Outcome unknown"},
    "list_positive_untreated": {"zh": "阳性未治疗", "en": "Positive, untreated"},
    "list_missing_tests": {"zh": "必查项目缺失", "en": "Essential tests missing"},
    "list_postpartum_visit_due": {"zh": "产后访视到期", "en": "Postpartum visit due"},
    "list_closed_out": {
        "zh": "转出/失访/迁出",
        "en": "Transferred out, lost to follow-up or moved away",
    },
}

LABELS.update(REVIEW_LABELS)  # the reviewers' pages (web/review_pages.py)


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in ("zh", "en"):
        return asked
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def labels(lang: str) -> dict[str, str]:
    return {key: texts[lang] for key, texts in LABELS.items()}


LABELS.update(CASE_LABELS)  # the case page (web/case_labels.py)
