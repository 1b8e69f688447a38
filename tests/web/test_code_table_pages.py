"""The site code tables page (issue 18, page 7) in a real browser on both databases: upload with
the check's result, a refused file naming its line, download, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mch_service.app import Services
from mch_service.config import Settings
from tests.auth.test_accounts import add_user
from tests.conftest import TEST_SECRET

GOOD = (
    "concept,system,code,display,value,unit\n"
    "hiv_test,http://lis.hosp-c.example.cn/codes,HIV-AB,HIV抗体筛查,,\n"
)
BAD = GOOD + "no_such_concept,http://lis.hosp-c.example.cn/codes,X1,X,,\n"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    (tmp_path / "site-codes").mkdir()
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=TEST_SECRET,
        code_tables_dir=str(tmp_path / "site-codes"),
    )


def _upload(tab: Any, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    form = tab.page.locator("#upload-code-table")
    form.get_by_label("CSV 文件（UTF-8）").set_input_files(str(path))
    form.locator("button[type=submit]").click()
    tab.page.wait_for_load_state()


def test_a_site_table_is_checked_saved_found_downloaded_and_deleted(
    tabs: Any, services: Services, http: httpx.Client, tmp_path: Path
) -> None:
    add_user(services, "admin1", "admin")
    tab = tabs()
    tab.sign_in("admin1", then="/admin/code-tables")
    shipped = tab.page.locator("#codes caption").inner_text()
    _upload(tab, tmp_path, "hosp-c.csv", GOOD)
    saved = tab.page.locator("#saved").inner_text()
    assert "hosp-c.csv" in saved
    tab.shot("admin-code-tables", full_page=False)
    # the code is in force, found by the filter, with its file and line
    tab.goto("/admin/code-tables?q=HIV-AB")
    rows = tab.page.locator("#codes tbody tr").all_inner_texts()
    assert len(rows) == 1
    assert "hiv_test" in rows[0]
    assert "hosp-c.csv:2" in rows[0]
    assert tab.page.locator("#codes caption").inner_text() != shipped
    # the same file comes back
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="hosp-c.csv").click()
    assert Path(download.value.path()).read_text(encoding="utf-8") == GOOD
    # deleted, it is no longer in force
    tab.goto("/admin/code-tables")
    item = tab.page.locator("#site-files li").first
    item.get_by_label("确认删除").check()
    item.locator("button.danger").click()
    tab.page.wait_for_load_state()
    assert tab.page.locator("#notice").count() == 1
    assert not (tmp_path / "site-codes" / "hosp-c.csv").exists()


def test_a_bad_table_is_refused_with_its_line_and_nothing_changes(
    tabs: Any, services: Services, tmp_path: Path
) -> None:
    add_user(services, "admin1", "admin")
    tab = tabs()
    tab.sign_in("admin1", then="/admin/code-tables")
    _upload(tab, tmp_path, "hosp-c.csv", BAD)
    error = tab.page.locator("#error").inner_text()
    assert "no_such_concept" in error or "line 3" in error or ":3" in error
    assert not (tmp_path / "site-codes" / "hosp-c.csv").exists()
    assert tab.page.locator("#saved").count() == 0
