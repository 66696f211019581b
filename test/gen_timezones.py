#!/usr/bin/env python3
"""Writes modules/pg_cron_job/timezones.tf: the IANA time zone names (tzdata via Python's zoneinfo)
that schedule_timezone is validated against. --check verifies the checked-in file instead."""
import pathlib
import sys
import zoneinfo

OUT = pathlib.Path(__file__).resolve().parent.parent / "modules" / "pg_cron_job" / "timezones.tf"


def render() -> str:
    zones = sorted(z for z in zoneinfo.available_timezones() if z not in ("Factory", "localtime", "posixrules"))
    lines = ["# IANA time zone names (tzdata, as listed by Python's zoneinfo.available_timezones(), without",
             "# Factory/localtime/posixrules): the names EventBridge Scheduler accepts for",
             "# schedule_expression_timezone, including links such as CET, EST5EDT and Etc/GMT+5.",
             "# https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#time-zones",
             "# Regenerate with: python3 test/gen_timezones.py",
             "locals {",
             "  iana_time_zones = ["]
    for i in range(0, len(zones), 4):
        lines.append("    " + ", ".join(f'"{z}"' for z in zones[i:i + 4]) + ",")
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if "--check" in sys.argv:
        # The list only grows with tzdata; a missing name here would reject a valid zone.
        missing = sorted(set(render().split('"')[1::2]) - set(OUT.read_text().split('"')[1::2]))
        if missing:
            print(f"{OUT} lacks time zones {missing}: run python3 test/gen_timezones.py", file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    OUT.write_text(render())
