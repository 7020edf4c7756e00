package store

import (
	"sort"
	"sync"
	"testing"

	"gorm.io/gorm/schema"

	"github.com/webhookd/webhookd/models"
)

// TestBulkInsertCoversDelivery: every column of models.Delivery is in the
// bulk insert, so a field added later is not silently left at its default
// for fan-outs.
func TestBulkInsertCoversDelivery(t *testing.T) {
	sch, err := schema.Parse(&models.Delivery{}, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, f := range sch.Fields {
		if f.DBName != "" {
			want = append(want, f.DBName)
		}
	}
	for _, c := range deliveryColumns {
		got = append(got, c.name)
	}
	sort.Strings(want)
	sort.Strings(got)
	if len(want) != len(got) {
		t.Fatalf("bulk insert columns %v, models.Delivery has %v", got, want)
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("bulk insert columns %v, models.Delivery has %v", got, want)
		}
	}
}
