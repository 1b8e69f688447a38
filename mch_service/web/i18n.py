"""Labels of the staff pages: Chinese first, English on request (?lang=en, kept in a cookie)."""

from __future__ import annotations

from fastapi import Request

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
    "interface_guide": {"zh": "医院接口指南", "en": "Interface guide for hospitals"},
    "session_expired": {"zh": "请重新登录", "en": "Please sign in again"},
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


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in ("zh", "en"):
        return asked
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def labels(lang: str) -> dict[str, str]:
    return {key: texts[lang] for key, texts in LABELS.items()}
