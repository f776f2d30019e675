/* global hexo */
'use strict';

// newsspider's posts give their date as an instant (RFC 1123 with GMT, FORMAT.md). Hexo reads
// every front-matter date as a wall-clock time of the *process's* zone and then shifts it from
// there to `timezone` (hexo/dist/plugins/processor/common.js): on a machine in UTC, with
// `timezone: Asia/Shanghai`, every post would move 8 hours earlier, some to the day before
// (a wrong :year/:month/:day in its link). Running Hexo in the configured zone makes that shift
// zero, so dates stay the instants the posts give, shown in Beijing time. Node applies a change
// of process.env.TZ at once; theme scripts run before any post is read.
if (hexo.config.timezone) {
  process.env.TZ = hexo.config.timezone;
}
