// Package chart draws modelgate's figures over time as SVG line charts
// (canary against production, or production alone in the bake), for the
// reports, the post-mortem bundle and the dashboard. It wraps gonum's
// plot, which lays text out with its own embedded fonts: the charts look
// the same wherever they are drawn, at the price of about 9 MB of fonts in
// the binary.
package chart
