package lightgbm

// SetQuickScorer makes m's batches use QuickScorer (quickscorer.go), when
// on and m fits it, or the walk, whatever qsCheaper would pick, so tests
// hold both to the same results. It reports whether QuickScorer is on.
func SetQuickScorer(m *Model, on bool) bool {
	m.flat.qs = nil
	if on {
		m.flat.qs = buildQuickScorer(&m.flat)
	}
	return m.flat.qs != nil
}
