"""`{{ value|ago }}`: theme.times' `<time>` element (relative, exact UTC on hover)."""

from datetime import datetime

from django import template
from django.utils.safestring import SafeString, mark_safe

from theme.times import time_html

register = template.Library()


@register.filter
def ago(value: datetime | None) -> SafeString:
    return mark_safe(time_html(value))  # noqa: S308 -- time_html escapes what it writes
