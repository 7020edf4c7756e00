package store

import (
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// writes gathers a transaction's writes to send them at once: on
// PostgreSQL as one statement, each write but the last a data-modifying
// WITH query, in one round trip; on SQLite one by one (the database is in
// the process: there is no round trip to save). PostgreSQL runs the
// writes of one statement on one snapshot, in no set order, and none sees
// another's rows: they must touch different rows, or rows that only one
// of them can touch (conditions that exclude each other on that snapshot).
type writes struct {
	stmts []string
	args  [][]any
}

func (w *writes) add(sql string, args ...any) {
	w.stmts = append(w.stmts, sql)
	w.args = append(w.args, args)
}

func (w *writes) exec(tx *gorm.DB, d Dialect) error {
	if len(w.stmts) == 0 {
		return nil
	}
	if d != Postgres || len(w.stmts) == 1 {
		for i, q := range w.stmts {
			if err := tx.Exec(q, w.args[i]...).Error; err != nil {
				return err
			}
		}
		return nil
	}
	last := len(w.stmts) - 1
	ctes := make([]string, last)
	for i, q := range w.stmts[:last] {
		ctes[i] = fmt.Sprintf("w%d AS (%s)", i, q)
	}
	return tx.Exec("WITH "+strings.Join(ctes, ", ")+" "+w.stmts[last], slices.Concat(w.args...)...).Error
}
