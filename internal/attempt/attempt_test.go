package attempt

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
)

// TestJSONShapeIsStable: Result and Record are in recorded workflow
// histories; a renamed field or a changed omitempty breaks their replay.
func TestJSONShapeIsStable(t *testing.T) {
	at := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	full := Result{Outcome: Failure, RetryAfter: time.Minute, Attempt: &Record{
		Number: 2, Trigger: models.TriggerScheduled, RequestURL: "https://e.x/in", RequestHeaders: map[string]string{"A": "b"},
		StatusCode: 503, ResponseHeaders: map[string]string{"C": "d"}, ResponseBody: "busy", DurationMs: 12, Error: "e",
		StartedAt: at, FinishedAt: at,
	}}
	cases := map[string]struct {
		v    any
		want string
	}{
		"full": {full, `{"Outcome":"failure","RetryAfter":60000000000,"Attempt":{"Number":2,"Trigger":"scheduled",` +
			`"RequestURL":"https://e.x/in","RequestHeaders":{"A":"b"},"StatusCode":503,"ResponseHeaders":{"C":"d"},` +
			`"ResponseBody":"busy","DurationMs":12,"Error":"e","StartedAt":"2024-01-15T10:30:00Z","FinishedAt":"2024-01-15T10:30:00Z"}}`},
		"nothing sent": {Result{Outcome: Held}, `{"Outcome":"held"}`},
		"no answer": {Record{Number: 1, StartedAt: at, FinishedAt: at}, `{"Number":1,"Trigger":"","RequestURL":"",` +
			`"RequestHeaders":null,"ResponseHeaders":null,"ResponseBody":"","DurationMs":0,` +
			`"StartedAt":"2024-01-15T10:30:00Z","FinishedAt":"2024-01-15T10:30:00Z"}`},
	}
	for name, c := range cases {
		b, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", name, b, c.want)
		}
	}
}

func TestRow(t *testing.T) {
	local := time.Date(2024, 1, 15, 11, 30, 0, 0, time.FixedZone("CET", 3600))
	r := Record{Number: 3, Trigger: models.TriggerReplay, StatusCode: 204, DurationMs: 5, StartedAt: local, FinishedAt: local}
	row := r.Row("d1", "run1")
	if row.DeliveryID != "d1" || row.RunID != "run1" || row.Number != 3 || row.Trigger != models.TriggerReplay ||
		row.ResponseStatus == nil || *row.ResponseStatus != 204 || row.StartedAt.Location() != time.UTC || !row.StartedAt.Equal(local) {
		t.Fatalf("row = %+v", row)
	}
	if noAnswer := (&Record{Error: "refused"}).Row("d1", ""); noAnswer.ResponseStatus != nil {
		t.Fatalf("an attempt without an answer has status %v", *noAnswer.ResponseStatus)
	}
}
