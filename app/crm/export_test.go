package crm

// Candidates and Filters expose the board's query parts to the benchmark's EXPLAIN.
var Candidates = candidates

func (f Filter) Filters() (string, []any) { return f.filters() }
