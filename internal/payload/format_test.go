package payload

import (
	"context"
	"slices"
	"testing"

	"github.com/webhookd/webhookd/models"
)

func TestFormats(t *testing.T) {
	if want := []Format{"webhookd", "openmetadata"}; !slices.Equal(Formats, want) {
		t.Errorf("Formats = %q, want %q", Formats, want)
	}
	for _, typ := range models.WebhookTypes {
		for _, f := range []Format{"", FormatWebhookd} {
			if !FormatApplies(typ, f) {
				t.Errorf("FormatApplies(%s, %q) = false; the default applies to every type", typ, f)
			}
		}
		if got, want := FormatApplies(typ, FormatOpenMetadata), typ == models.WebhookGeneric; got != want {
			t.Errorf("FormatApplies(%s, openmetadata) = %v, want %v", typ, got, want)
		}
		if FormatApplies(typ, "OpenMetadata") {
			t.Errorf("FormatApplies(%s, OpenMetadata): formats are case-sensitive", typ)
		}
	}
}

// The default format, spelled or not, and a secret (which only the
// openmetadata body uses) change no body of any type.
func TestDefaultFormatChangesNothing(t *testing.T) {
	const tmpl = `{"e": {{json .EventType}}}`
	for _, typ := range models.WebhookTypes {
		for _, tmpl := range []string{"", tmpl} {
			want := mustRender(t, typ, tmpl, tableUpdated(false))
			for _, o := range []Options{
				{Format: FormatWebhookd, Template: tmpl},
				{Format: FormatWebhookd, Template: tmpl, Secret: "s3cret"},
				{Template: tmpl, Secret: "s3cret"},
			} {
				got, err := Render(context.Background(), typ, o, tableUpdated(false))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Errorf("%s with %+v:\n got %s\nwant %s", typ, o, got, want)
				}
			}
		}
	}
}
