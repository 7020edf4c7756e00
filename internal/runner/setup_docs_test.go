package runner

import (
	"os"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/workflows"
)

// TestDocsListEverySearchAttribute: where the docs list the search
// attributes `migrate` registers (or that a Temporal Cloud operator must
// create, since Cloud does not let `migrate` add them), every one is named:
// a namespace missing one refuses every delivery start.
func TestDocsListEverySearchAttribute(t *testing.T) {
	for _, doc := range []string{"../../docs/operations.md", "../../docs/temporal-web-ui.md", "../../deploy/helm/README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text, lists := string(b), 0
		for i := strings.Index(text, "`TenantId`, `WebhookId`"); i >= 0; {
			lists++
			list := text[i:min(len(text), i+160)]
			for _, name := range workflows.SearchAttributeNames {
				if !strings.Contains(list, "`"+name+"`") {
					t.Errorf("%s: the search attribute list %q leaves out %s", doc, list, name)
				}
			}
			next := strings.Index(text[i+1:], "`TenantId`, `WebhookId`")
			if next < 0 {
				break
			}
			i += 1 + next
		}
		if lists == 0 {
			t.Errorf("%s lists no search attributes", doc)
		}
	}
}
