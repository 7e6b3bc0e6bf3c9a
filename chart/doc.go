// Package chart draws modelgate's figures over time as SVG line charts
// (canary against production, or production alone in the bake): latency
// quantiles, the error rate with its 95% band, the mean prediction, the
// requests and each input's drift against its alert level, for the
// reports, the post-mortem bundle and the HTML report.
//
// The SVG is written by hand rather than with a plotting library: gonum's
// plot, the one the Go ecosystem would offer, lays text out with its own
// embedded fonts and added about 9 MB to the binary, which must stay under
// 50 MB. A chart meant for a browser needs no font metrics: the viewer's
// fonts draw the text.
package chart
