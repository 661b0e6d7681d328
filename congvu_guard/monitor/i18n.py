"""The page's words (issue 21): one catalogue per language, the same keys in both; every
string of the page comes from here (data values aside). Dates are shown in Vietnam's time
(UTC+7) as dd/mm/yyyy HH:MM."""

from __future__ import annotations

import datetime as dt
import string
from html import escape
from typing import Any

from ..state.daystats import VN

VI: dict[str, str] = {
    "title": "Giám sát thư công vụ",
    "other_lang": "English",
    "skip": "Bỏ qua, đến nội dung chính",
    "nav": "Các mục",
    "nav_overview": "Tổng quan",
    "login": "Đăng nhập", "user": "Tài khoản", "password": "Mật khẩu", "logout": "Đăng xuất",
    "signed_in": "Đang đăng nhập: {user} ({role})",
    "role_viewer": "xem", "role_operator": "vận hành", "role_admin": "quản trị",
    "bad_login": "Sai tài khoản hoặc mật khẩu.",
    "wait": "Đăng nhập sai quá nhiều lần, vui lòng chờ {seconds} giây.",
    # overview
    "overview": "Tổng quan hôm nay và 7 ngày qua",
    "today": "Hôm nay", "week": "7 ngày",
    "judged": "Thư đã kiểm tra", "rejected": "Thư bị từ chối",
    "quarantined": "Thư đưa vào hộp tiếp nhận", "locks_placed": "Hộp thư bị khóa",
    "reports_received": "Báo cáo nhận được", "untriaged": "Báo cáo chưa xử lý",
    "locks_by_rule": "Khóa theo quy tắc", "locked_now": "Đang khóa",
    "not_counted": "Chưa có số liệu (bộ lọc thư chưa ghi bộ đếm theo ngày).",
    "grafana": "Biểu đồ chi tiết trên Grafana", "see_list": "Xem danh sách",
    "grafana_short": "Grafana",
    "chart": "Biểu đồ 7 ngày: {name}",
    # lists
    "locks": "Hộp thư đang bị tạm khóa", "reports": "Thư báo cáo",
    "campaigns": "Chiến dịch (báo cáo cùng dấu hiệu)", "audit": "Nhật ký khóa/mở khóa",
    "bulk": "Hộp thư được phép gửi số lượng lớn", "ioc": "Danh sách chặn (dấu hiệu)",
    "see_all": "Xem tất cả và lọc",
    "filter": "Lọc", "search": "Tìm kiếm", "account": "Hộp thư", "rule": "Quy tắc",
    "status": "Trạng thái", "date_from": "Từ ngày", "date_to": "Đến ngày",
    "sort": "Sắp xếp", "sort_new": "Mới nhất trước", "sort_old": "Cũ nhất trước",
    "size": "Số dòng mỗi trang", "any": "Tất cả", "apply": "Áp dụng",
    "reset": "Bỏ lọc",
    "page_of": "Trang {page}/{pages}, {total} dòng",
    "prev": "Trang trước", "next": "Trang sau", "first_page": "Trang đầu",
    "none": "Không có dữ liệu.",
    "reason": "Lý do", "by": "Người/thành phần khóa", "at": "Thời điểm",
    "evidence": "Bằng chứng", "unlock": "Khôi phục (HUE-13.3)",
    "reference": "Số văn bản đề nghị", "approver": "Người phê duyệt",
    "event": "Sự kiện", "actor": "Người thực hiện",
    "received": "Nhận lúc", "subject": "Tiêu đề", "sender": "Người gửi",
    "reporter": "Người báo cáo", "verdict": "Kết luận", "rules": "Quy tắc",
    "attachments": "Tệp đính kèm", "kind": "Loại", "details": "Chi tiết",
    "campaign": "Chiến dịch", "campaign_title": "Tiêu đề phổ biến nhất",
    "report_count": "Số báo cáo", "indicators": "Dấu hiệu", "actions": "Thao tác",
    "no_subject": "(không có tiêu đề)",
    "pick": "Chọn dấu hiệu đưa vào danh sách chặn (khi bấm Độc hại)",
    "malicious": "Độc hại", "benign": "Vô hại", "release": "Trả thư cho người nhận",
    "limit": "Giới hạn (thư)", "no_limit": "Không giới hạn", "note": "Ghi chú",
    "ioc_type": "Loại dấu hiệu", "value": "Giá trị",
    "status_open": "Chưa xử lý", "status_malicious": "Độc hại", "status_benign": "Vô hại",
    "status_released": "Đã trả thư", "status_locked": "Đang khóa",
    "kind_quarantine": "Bộ lọc cách ly", "kind_user-report": "Người dùng báo cáo",
    "kind_": "Khác",
    "type_sha256": "Mã băm tệp (SHA-256)", "type_domain": "Tên miền",
    "type_sender": "Địa chỉ gửi",
    # detail page
    "report": "Báo cáo {id}", "headers": "Tiêu đề gốc của thư (đã vô hiệu hóa mã)",
    "download": "Tải thư gốc (.eml)", "no_raw": "Nội dung thư gốc không còn được lưu.",
    "reasons": "Diễn giải của bộ lọc", "recipients": "Người nhận ban đầu",
    "message_id": "Mã thư (Message-ID)", "domains": "Tên miền trong liên kết",
    "links": "Liên kết", "back": "Quay lại danh sách báo cáo", "form": "Dạng báo cáo",
    # flash messages and errors
    "flash_unlocked": "Đã khôi phục hộp thư {account}.",
    "flash_triaged": "Chiến dịch {campaign}: {status}; đã chặn {added} dấu hiệu, "
                     "từ chối {refused}.",
    "flash_released": "Đã trả thư của báo cáo {report} cho người nhận.",
    "err_not_locked": "Hộp thư {account} không bị khóa.",
    "err_unlock": "Không khôi phục được {account}: cần số văn bản và người phê duyệt.",
    "err_verdict": "Kết luận không hợp lệ.",
    "err_no_report": "Không tìm thấy báo cáo.",
    "err_triage": "Dấu hiệu đã chọn không thuộc chiến dịch này.",
    "err_release": "Không trả được thư: chỉ thư bị cách ly còn lưu nội dung mới trả được.",
    "err_release_failed": "Không gửi được thư qua máy chủ chuyển tiếp, vui lòng thử lại.",
    "err_csrf": "Biểu mẫu đã hết hạn hoặc không hợp lệ, vui lòng tải lại trang.",
    "err_role": "Vai trò của bạn không được phép thực hiện thao tác này.",
    "err_not_found": "Không tìm thấy trang.",
}

EN: dict[str, str] = {
    "title": "Official mail monitor",
    "other_lang": "Tiếng Việt",
    "skip": "Skip to the main content",
    "nav": "Sections",
    "nav_overview": "Overview",
    "login": "Log in", "user": "User", "password": "Password", "logout": "Log out",
    "signed_in": "Signed in: {user} ({role})",
    "role_viewer": "viewer", "role_operator": "operator", "role_admin": "admin",
    "bad_login": "Wrong user or password.",
    "wait": "Too many failed logins, please wait {seconds} seconds.",
    "overview": "Today and the last 7 days",
    "today": "Today", "week": "7 days",
    "judged": "Messages judged", "rejected": "Messages rejected",
    "quarantined": "Quarantined to the report box", "locks_placed": "Accounts locked",
    "reports_received": "Reports received", "untriaged": "Reports not triaged",
    "locks_by_rule": "Locks by rule", "locked_now": "Locked now",
    "not_counted": "No figures yet (the milter has not written day counters).",
    "grafana": "Detailed charts in Grafana", "see_list": "See the list",
    "grafana_short": "Grafana",
    "chart": "7-day chart: {name}",
    "locks": "Locked accounts", "reports": "Reports",
    "campaigns": "Campaigns (reports sharing indicators)",
    "audit": "Lock and unlock audit trail",
    "bulk": "Registered bulk senders", "ioc": "Blocklist (indicators)",
    "see_all": "See all and filter",
    "filter": "Filter", "search": "Search", "account": "Account", "rule": "Rule",
    "status": "Status", "date_from": "From", "date_to": "To",
    "sort": "Order", "sort_new": "Newest first", "sort_old": "Oldest first",
    "size": "Rows per page", "any": "Any", "apply": "Apply",
    "reset": "Clear filters",
    "page_of": "Page {page} of {pages}, {total} rows",
    "prev": "Previous page", "next": "Next page", "first_page": "First page",
    "none": "Nothing to show.",
    "reason": "Reason", "by": "Locked by", "at": "When",
    "evidence": "Evidence", "unlock": "Unlock (HUE-13.3)",
    "reference": "Request reference", "approver": "Approver",
    "event": "Event", "actor": "Actor",
    "received": "Received", "subject": "Subject", "sender": "Sender",
    "reporter": "Reporter", "verdict": "Verdict", "rules": "Rules",
    "attachments": "Attachments", "kind": "Kind", "details": "Details",
    "campaign": "Campaign", "campaign_title": "Most common subject",
    "report_count": "Reports", "indicators": "Indicators", "actions": "Actions",
    "no_subject": "(no subject)",
    "pick": "Pick the indicators to blocklist (with Malicious)",
    "malicious": "Malicious", "benign": "Benign", "release": "Release to recipients",
    "limit": "Limit (messages)", "no_limit": "No limit", "note": "Note",
    "ioc_type": "Indicator type", "value": "Value",
    "status_open": "Not triaged", "status_malicious": "Malicious", "status_benign": "Benign",
    "status_released": "Released", "status_locked": "Locked",
    "kind_quarantine": "Quarantined by the milter", "kind_user-report": "Reported by a user",
    "kind_": "Other",
    "type_sha256": "File hash (SHA-256)", "type_domain": "Domain",
    "type_sender": "Sender address",
    "report": "Report {id}", "headers": "Original headers (escaped)",
    "download": "Download the original message (.eml)",
    "no_raw": "The original message is no longer stored.",
    "reasons": "The milter's explanation", "recipients": "Original recipients",
    "message_id": "Message-ID", "domains": "Link domains",
    "links": "Links", "back": "Back to the reports", "form": "Report form",
    "flash_unlocked": "Account {account} unlocked.",
    "flash_triaged": "Campaign {campaign}: {status}; {added} indicators blocklisted, "
                     "{refused} refused.",
    "flash_released": "The message of report {report} was released to its recipients.",
    "err_not_locked": "Account {account} is not locked.",
    "err_unlock": "Could not unlock {account}: a request reference and an approver are "
                  "needed.",
    "err_verdict": "Invalid verdict.",
    "err_no_report": "No such report.",
    "err_triage": "The chosen indicators are not this campaign's.",
    "err_release": "Could not release: only quarantined mail whose content is still stored "
                   "can be released.",
    "err_release_failed": "Could not submit the message to the relay; please try again.",
    "err_csrf": "The form expired or is invalid; please reload the page.",
    "err_role": "Your role does not allow this action.",
    "err_not_found": "Page not found.",
}

CATALOGUES = {"vi": VI, "en": EN}


def fields_of(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


class Words:
    """One language's words, HTML-escaped; data values put in by :meth:`f` are wrapped
    in ``<bdi>`` (isolated from the surrounding text, and recognisable as data)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in CATALOGUES else "vi"
        self.cat = CATALOGUES[self.lang]

    def __call__(self, key: str) -> str:
        return escape(self.cat.get(key, key))

    def raw(self, key: str) -> str:
        return self.cat.get(key, key)

    def f(self, key: str, **values: Any) -> str:
        out = []
        for text, name, _, _ in string.Formatter().parse(self.cat.get(key, key)):
            out.append(escape(text))
            if name:
                out.append(data(values.get(name, "")))
        return "".join(out)


def data(value: Any) -> str:
    return f"<bdi>{escape(str(value))}</bdi>"


def local_time(ts: Any) -> str:
    """Unix seconds as Vietnam's dd/mm/yyyy HH:MM ("" when not a time)."""
    try:
        return dt.datetime.fromtimestamp(float(ts), VN).strftime("%d/%m/%Y %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
