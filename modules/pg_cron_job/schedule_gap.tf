# The shortest time between two starts of schedule_expression, in minutes, for the
# flexible-window check (variables.tf): a rate()'s interval; for a cron() the gaps between its
# starts within a day (minutes x hours fields), and across midnight when it runs every day. null
# when not computed (at(), a cron() with one start a day on some days only, a field this does not
# parse): then nothing is refused. Daylight-saving days can shorten a gap by the shift; not counted.
locals {
  schedule_rate = try(regex("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", var.schedule_expression), null)
  schedule_rate_minutes = local.schedule_rate == null ? null : tonumber(local.schedule_rate[0]) * {
    minute = 1, hour = 60, day = 1440
  }[local.schedule_rate[1]]

  cron_fields = try(split(" ", regex("^cron\\((.+)\\)$", var.schedule_expression)[0]), null)
  # The values of the minutes (0-59) and hours (0-23) fields: *, n, a-b, with /step, lists.
  cron_values = try([for spec in [{ f = local.cron_fields[0], max = 60 }, { f = local.cron_fields[1], max = 24 }] : distinct(flatten([
    for item in split(",", spec.f) : [
      for p in [regex("^(\\*|[0-9]+)(?:-([0-9]+))?(?:/([0-9]+))?$", item)] : range(
        p[0] == "*" ? 0 : tonumber(p[0]),
        p[1] != null ? tonumber(p[1]) + 1 : (p[0] == "*" || p[2] != null ? spec.max : tonumber(p[0]) + 1),
        p[2] != null ? tonumber(p[2]) : 1,
      )
    ]
  ]))], null)
  # Minutes after midnight of the day's starts, in order (sorted as zero-padded strings).
  cron_day_starts = local.cron_values == null ? null : [for t in sort(distinct(flatten([for h in local.cron_values[1] : [for m in local.cron_values[0] : format("%04d", h * 60 + m)]]))) : tonumber(t)]
  cron_every_day  = try(contains(["*", "?"], local.cron_fields[2]) && contains(["*", "?"], local.cron_fields[4]), false)
  cron_gaps = local.cron_day_starts == null ? [] : concat(
    [for i, t in slice(local.cron_day_starts, 1, length(local.cron_day_starts)) : t - local.cron_day_starts[i]],
    local.cron_every_day ? [local.cron_day_starts[0] + 1440 - local.cron_day_starts[length(local.cron_day_starts) - 1]] : [],
  )

  schedule_min_gap_minutes = local.schedule_rate_minutes != null ? local.schedule_rate_minutes : (length(local.cron_gaps) > 0 ? min(local.cron_gaps...) : null)
}
