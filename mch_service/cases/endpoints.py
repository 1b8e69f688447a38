"""Reviewers' API: work lists, the case page, follow-ups, assignment, closing, exports."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import xlsxwriter
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Principal
from mch_service.cases.schemas import (
    Assignee,
    AssignmentUpdate,
    CaseCodes,
    CaseDetail,
    CaseList,
    CaseRead,
    CaseVersion,
    CloseReasonCount,
    FollowUpCreate,
    ListCounts,
    OutcomeCreate,
    ReasonedChange,
)
from mch_service.cases.service import CaseQuery
from mch_service.deps import ServicesDep, in_transaction
from mch_service.safe_cells import (
    CSV_RESPONSE,
    XLSX_OPTIONS,
    XLSX_RESPONSE,
    csv_row,
    csv_writer,
    xlsx_cell,
)

if TYPE_CHECKING:
    from mch_service.services import Services

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
# The call sheet (issue 16): names, not codes, for streets and institutions; the full name and
# phone only for staff allowed to read personal data (absent, so empty, for others).
EXPORT_COLUMNS = [
    ("list", "工作清单 list"),
    ("pregnancy_id", "孕产妇档案 pregnancy"),
    ("name", "姓名 name"),
    ("resident_id", "身份证号 ID"),
    ("colour", "颜色 colour"),
    ("purple", "紫色 purple"),
    ("street_name", "镇街 street"),
    ("since", "起始 since"),
    ("overdue", "逾期 overdue"),
    ("reason", "原因 reason"),
    ("clears", "解除条件 clears"),
    ("assignee", "负责人 assignee"),
    ("list_label_zh", "清单名称 list name"),
    ("full_name", "姓名（全） full name"),
    ("phone", "电话 phone"),
    ("risk_factors", "高危因素 risk factors"),
    ("centre_name", "负责社区卫生服务中心 community health centre"),
    ("institution_names", "机构 institutions"),
    ("gestational_age", "孕周 GA (weeks+days)"),
    ("edd", "预产期 EDD"),
    ("days_postpartum", "产后天数 days postpartum"),
    ("last_contact", "末次联系 last contact"),
    ("next_due", "下次到期 next due"),
    ("days_overdue", "逾期天数 days overdue"),
    ("reason_zh", "原因（中文） reason in Chinese"),
    ("clears_zh", "解除条件（中文） clears in Chinese"),
    ("case_status", "专案状态 case status"),
    ("as_of", "统计日 as of"),
]


def case_filters(
    list: str | None = None,
    colour: str | None = None,
    street: str | None = None,
    institution: str | None = None,
    assignee: str | None = None,
    overdue: bool | None = None,
    sort: str = "urgency",
    descending: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> CaseQuery:
    """The list filters, the same for a page and for an export."""
    return CaseQuery(
        list,
        colour,
        street,
        institution,
        assignee,
        overdue,
        sort,
        descending,
        max(page, 1),
        min(max(page_size, 1), 500),
    )


Filters = Annotated[CaseQuery, Depends(case_filters)]


@router.get("", response_model=CaseList, response_model_exclude_unset=True)
async def list_cases(services: ServicesDep, principal: CurrentStaff, q: Filters) -> CaseList:
    # exclude_unset: an item's name and resident_id are absent when she has no stored record
    return await in_transaction(services, services.cases.list_items, principal, q)


async def _export_rows(
    services: Services, principal: Principal, q: CaseQuery
) -> list[dict[str, Any]]:
    # a write transaction, as for a page: listing records an audit event
    items = await in_transaction(services, services.cases.all_items, principal, q)
    rows = [item.model_dump(by_alias=True, exclude_unset=True) for item in items]
    for r in rows:
        r["institution_names"] = "、".join(r.get("institution_names") or [])
    return rows


@router.get("/export.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def export_csv(
    services: ServicesDep, principal: CurrentStaff, q: Filters
) -> StreamingResponse:
    rows = await _export_rows(services, principal, q)

    def body() -> Iterator[bytes]:
        buf = io.StringIO()
        writer = csv_writer(buf)
        buf.write("\ufeff")
        writer.writerow(csv_row(h for _, h in EXPORT_COLUMNS))
        for r in rows:
            writer.writerow(csv_row(r.get(k) for k, _ in EXPORT_COLUMNS))
        yield buf.getvalue().encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cases.csv"'},
    )


@router.get("/export.xlsx", response_class=StreamingResponse, responses=XLSX_RESPONSE)
async def export_xlsx(
    services: ServicesDep, principal: CurrentStaff, q: Filters
) -> StreamingResponse:
    rows = await _export_rows(services, principal, q)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    book = xlsxwriter.Workbook(spool, {"constant_memory": True, "in_memory": False, **XLSX_OPTIONS})
    sheet = book.add_worksheet("工作清单")
    bold = book.add_format({"bold": True})
    for c, (_, header) in enumerate(EXPORT_COLUMNS):
        sheet.write_string(0, c, header, bold)
    for r_i, r in enumerate(rows, start=1):
        for c, (key, _) in enumerate(EXPORT_COLUMNS):
            xlsx_cell(sheet, r_i, c, r.get(key))
    book.close()
    spool.seek(0)

    def body() -> Iterator[bytes]:
        while chunk := spool.read(65536):
            yield chunk
        spool.close()

    return StreamingResponse(
        body(),
        media_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers={"Content-Disposition": 'attachment; filename="cases.xlsx"'},
    )


@router.get("/counts", response_model=ListCounts, response_model_by_alias=True)
async def list_counts(services: ServicesDep, principal: CurrentStaff, q: Filters) -> ListCounts:
    """Every work list's count and overdue count under the same filters as the list (``list``,
    ``sort`` and paging are ignored), in the caller's jurisdiction; no personal data."""
    return await in_transaction(services, services.cases.list_counts, principal, q)


@router.get("/close-reasons", response_model=list[CloseReasonCount])
async def close_reasons(services: ServicesDep, principal: CurrentStaff) -> list[CloseReasonCount]:
    """Closed cases per close reason: 转出, 失访, 迁出, 产后42天结案, 其他."""
    return await in_transaction(services, services.cases.close_reasons, principal)


@router.get("/codes", response_model=CaseCodes)
async def codes(services: ServicesDep, principal: CurrentStaff) -> CaseCodes:
    """The coded actions: follow-up kinds and outcomes, outcome kinds and sources, close
    reasons, lists; each with its Chinese and English label."""
    return services.cases.codes(principal)


@router.get("/{pregnancy_id}", response_model=CaseDetail)
async def case_detail(
    pregnancy_id: str, services: ServicesDep, principal: CurrentStaff
) -> CaseDetail:
    return await in_transaction(services, services.cases.detail, principal, pregnancy_id)


@router.post("/{pregnancy_id}/follow-ups", status_code=201, response_model=CaseRead)
async def follow_up(
    pregnancy_id: str, body: FollowUpCreate, services: ServicesDep, principal: CurrentStaff
) -> CaseRead:
    return await in_transaction(
        services, services.cases.add_follow_up, principal, pregnancy_id, body
    )


@router.get("/{pregnancy_id}/assignees", response_model=list[Assignee])
async def assignees(
    pregnancy_id: str, services: ServicesDep, principal: CurrentStaff
) -> list[Assignee]:
    """The reviewers this woman's case may be assigned to (their jurisdiction covers her)."""
    return await in_transaction(services, services.cases.assignees, principal, pregnancy_id)


@router.post("/{pregnancy_id}/outcome", response_model=CaseRead)
async def outcome(
    pregnancy_id: str, body: OutcomeCreate, services: ServicesDep, principal: CurrentStaff
) -> CaseRead:
    """Record the pregnancy's outcome (delivered elsewhere, miscarriage, termination, moved out,
    lost to follow-up, died): it takes her off outcome_unknown at once."""
    return await in_transaction(
        services, services.cases.record_outcome, principal, pregnancy_id, body
    )


@router.post("/{pregnancy_id}/assign", response_model=CaseRead)
async def assign(
    pregnancy_id: str, body: AssignmentUpdate, services: ServicesDep, principal: CurrentStaff
) -> CaseRead:
    return await in_transaction(services, services.cases.assign, principal, pregnancy_id, body)


@router.post("/{pregnancy_id}/close", response_model=CaseRead)
async def close(
    pregnancy_id: str, body: ReasonedChange, services: ServicesDep, principal: CurrentStaff
) -> CaseRead:
    return await in_transaction(services, services.cases.close, principal, pregnancy_id, body)


@router.post("/{pregnancy_id}/reopen", response_model=CaseRead)
async def reopen(
    pregnancy_id: str, body: ReasonedChange, services: ServicesDep, principal: CurrentStaff
) -> CaseRead:
    return await in_transaction(services, services.cases.reopen, principal, pregnancy_id, body)


@router.post("/{pregnancy_id}/acknowledge-late", response_model=CaseRead)
async def acknowledge_late(
    pregnancy_id: str, body: CaseVersion, services: ServicesDep, principal: CurrentStaff
) -> CaseRead:
    return await in_transaction(
        services, services.cases.acknowledge_late, principal, pregnancy_id, body
    )
