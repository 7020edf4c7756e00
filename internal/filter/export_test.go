package filter

import "cel.dev/cel-go/cel"

func costLimit(n uint64) cel.ProgramOption { return cel.CostLimit(n) }
