package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// verifyStandard checks a request with the official Standard Webhooks
// library configured with one secret only, as a receiver that has not (or
// has already) switched would.
func verifyStandard(t *testing.T, secret string, r rig.Recorded) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(r.Body, r.Header)
}

// hexSignature is X-Webhook-Signature as a receiver computes it.
func hexSignature(secret string, body []byte) string {
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, _ = base64.StdEncoding.DecodeString(rest)
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestEndToEndSecretRotation: after POST /rotate-secret every request
// carries signatures by both secrets until the grace period ends, so a
// receiver verifying with either one (the official library, one key each)
// accepts it; afterwards only the new secret signs.
func TestEndToEndSecretRotation(t *testing.T) {
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(200))
	id := st.CreateWebhook("rotating", rc.URL, rig.Secret)
	st.PostEvent("evt-before", "order.created")
	rc.WaitHits(t, 1, 10*time.Second)
	if err := verifyStandard(t, rig.Secret, rc.Get(0)); err != nil {
		t.Fatalf("before rotation: %v", err)
	}

	var rotated struct {
		SecretKey               string `json:"secretKey"`
		PreviousSecretExpiresAt string `json:"previousSecretExpiresAt"`
	}
	if code := st.Call("POST", "/api/v1/webhooks/"+id+"/rotate-secret", map[string]any{"graceSeconds": 4}, &rotated); code != 200 {
		t.Fatalf("rotate: %d %+v", code, rotated)
	}
	if !strings.HasPrefix(rotated.SecretKey, "whsec_") || rotated.PreviousSecretExpiresAt == "" {
		t.Fatalf("rotate answer: %+v", rotated)
	}
	if cfg := st.Webhook(id)["webhookConfig"].(map[string]any); cfg["secretKey"] != "********" || cfg["previousSecretExpiresAt"] == nil {
		t.Fatalf("webhook after rotation: %v", cfg)
	}

	st.PostEvent("evt-during", "order.created")
	rc.WaitHits(t, 2, 10*time.Second)
	during := rc.Get(1)
	if sigs := strings.Fields(during.Header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("webhook-signature during the grace period = %q, want two v1 entries", during.Header.Get("webhook-signature"))
	}
	for name, secret := range map[string]string{"new": rotated.SecretKey, "old": rig.Secret} {
		if err := verifyStandard(t, secret, during); err != nil {
			t.Errorf("during the grace period, a receiver with the %s secret: %v", name, err)
		}
		want := hexSignature(secret, during.Body)
		found := false
		for _, v := range during.Header.Values("X-Webhook-Signature") {
			found = found || v == want
		}
		if !found {
			t.Errorf("X-Webhook-Signature %q lacks the %s secret's %s", during.Header.Values("X-Webhook-Signature"), name, want)
		}
	}

	time.Sleep(time.Until(mustTime(t, rotated.PreviousSecretExpiresAt)) + 100*time.Millisecond)
	st.PostEvent("evt-after", "order.created")
	rc.WaitHits(t, 3, 10*time.Second)
	after := rc.Get(2)
	if err := verifyStandard(t, rotated.SecretKey, after); err != nil {
		t.Fatalf("after the grace period, the new secret: %v", err)
	}
	if err := verifyStandard(t, rig.Secret, after); err == nil {
		t.Fatal("after the grace period the old secret still verifies")
	}
	if n := len(after.Header.Values("X-Webhook-Signature")); n != 1 {
		t.Fatalf("X-Webhook-Signature after the grace period: %d values", n)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestEndToEndOpenMetadataReceiver: a webhook with payloadFormat
// openmetadata delivers what OpenMetadata's documentation describes, and the
// documentation's own Python verify_signature accepts what the receiver got.
func TestEndToEndOpenMetadataReceiver(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to run OpenMetadata's documented verifier")
	}
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(200))
	const secret = "om-receiver-secret"
	var hook map[string]any
	if code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": "om-receiver", "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "entityUpdated"}},
		"webhookConfig": map[string]any{"endpoint": rc.URL, "secretKey": secret, "payloadFormat": "openmetadata"},
	}, &hook); code != 201 {
		t.Fatalf("create: %d %v", code, hook)
	}
	var ans rig.Ingested
	if code := st.Call("POST", "/api/v1/events", map[string]any{
		"id": "evt-om", "type": "entityUpdated", "entityType": "table",
		"entity":            map[string]any{"id": "t-1", "name": "customers", "description": "Größe – 顧客"},
		"changeDescription": map[string]any{"fieldsUpdated": []any{map[string]any{"name": "description"}}},
	}, &ans); code != 202 {
		t.Fatalf("post: %d", code)
	}
	rc.WaitHits(t, 1, 10*time.Second)
	got := rc.Get(0)
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"eventId", "eventType", "timestamp", "entity", "changeDescription", "webhookName", "signature"} {
		if body[field] == nil {
			t.Errorf("body lacks %s: %s", field, got.Body)
		}
	}
	if body["eventType"] != "entityUpdated" || body["webhookName"] != "om-receiver" {
		t.Errorf("body = %s", got.Body)
	}
	if ts, ok := body["timestamp"].(float64); !ok || time.Since(time.UnixMilli(int64(ts))).Abs() > time.Minute {
		t.Errorf("timestamp %v is not epoch milliseconds of now", body["timestamp"])
	}
	sig := got.Header.Get("X-OpenMetadata-Signature")
	if !strings.HasPrefix(sig, "sha256=") {
		t.Fatalf("X-OpenMetadata-Signature = %q", sig)
	}
	verify := func(payload []byte, secret string) bool {
		path := filepath.Join(t.TempDir(), "payload.json")
		if err := os.WriteFile(path, payload, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(python, filepath.Join("..", "internal", "payload", "testdata", "openmetadata_verify.py"), path, sig, secret)
		cmd.Env = append(os.Environ(), "PYTHONUTF8=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		switch verdict := strings.TrimSpace(string(out)); {
		case err == nil && verdict == "True":
			return true
		case errors.As(err, &exit) && verdict == "False":
			return false
		}
		t.Fatalf("verifier: %v %q %s", err, out, stderr.Bytes())
		return false
	}
	if !verify(got.Body, secret) {
		t.Fatalf("OpenMetadata's verify_signature rejects what the receiver got: %s %s", sig, got.Body)
	}
	if verify(got.Body, secret+"x") || verify(bytes.Replace(got.Body, []byte("customers"), []byte("customerz"), 1), secret) {
		t.Fatal("the verifier accepts a wrong secret or a changed body: the check proves nothing")
	}
	st.WaitDelivery(ans.Deliveries[0].ID, "succeeded", 10*time.Second)
}

// TestEndToEndTestBeforeSave: POST /webhooks/test sends one real, signed
// request with the caller's sample and stores nothing, not even in Temporal.
func TestEndToEndTestBeforeSave(t *testing.T) {
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(204))
	db := storetest.Inspect(t, st.DBURL)
	before := db.Dump()
	var ans struct {
		Delivery struct{ Status, Trigger string }
		Attempt  struct {
			Response struct {
				StatusCode int `json:"statusCode"`
			} `json:"response"`
		}
	}
	code := st.Call("POST", "/api/v1/webhooks/test", map[string]any{
		"name": "draft", "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "order.*"}},
		"webhookConfig": map[string]any{"endpoint": rc.URL + "/draft", "secretKey": rig.Secret},
		"testEvent":     map[string]any{"eventType": "order.paid", "data": map[string]any{"orderId": "A-1", "amount": 12.5}},
	}, &ans)
	if code != 200 || ans.Delivery.Status != "succeeded" || ans.Delivery.Trigger != "test" || ans.Attempt.Response.StatusCode != 204 {
		t.Fatalf("test before save: %d %+v", code, ans)
	}
	if rc.Count() != 1 {
		t.Fatalf("receiver got %d requests", rc.Count())
	}
	got := rc.Get(0)
	if err := verifyStandard(t, rig.Secret, got); err != nil {
		t.Fatalf("the test request is not signed like a delivery: %v", err)
	}
	var env map[string]any
	if err := json.Unmarshal(got.Body, &env); err != nil || env["event"] != "order.paid" || env["isTest"] != true ||
		env["data"].(map[string]any)["orderId"] != "A-1" {
		t.Fatalf("test body = %s", got.Body)
	}
	if db.Dump() != before {
		t.Fatal("testing an unsaved webhook wrote to the database")
	}
	runs, err := st.Client.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowType = %q", workflows.DeliveryWorkflow)})
	if err != nil || len(runs.Executions) != 0 {
		t.Fatalf("delivery workflows after a test before save: %d %v", len(runs.GetExecutions()), err)
	}
}

// TestEndToEndRetryScheduleOfTheWebhook: a webhook's own retrySchedule
// replaces the default one: ["10s"] (the shortest wait it takes) means one
// retry ten seconds after the first attempt, then the dead-letter queue.
func TestEndToEndRetryScheduleOfTheWebhook(t *testing.T) {
	t.Parallel()                             // mostly waiting: overlap it with the other tests
	st := rig.NewStackWith(t, rig.Options{}) // the default schedule, not a test override
	rc := rig.NewRecorder(t, rig.Always(500))
	var hook map[string]any
	if code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": "quick-retry", "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "order.*"}},
		"webhookConfig": map[string]any{"endpoint": rc.URL, "retrySchedule": []string{"10s"}},
	}, &hook); code != 201 {
		t.Fatalf("create: %d %v", code, hook)
	}
	ans := st.PostEvent("evt-quick", "order.created")
	d := st.WaitDelivery(ans.Deliveries[0].ID, "failed", 30*time.Second)
	if d.Attempts != 2 || rc.Count() != 2 {
		t.Fatalf("attempts = %d, receiver hits = %d, want 2", d.Attempts, rc.Count())
	}
	if gap := rc.Get(1).At.Sub(rc.Get(0).At); gap < 10*time.Second || gap > 14*time.Second {
		t.Fatalf("retry came %v after the first attempt, want 10s", gap)
	}
	if w := st.Webhook(hook["id"].(string)); w["status"] != "retryLimitReached" {
		t.Fatalf("webhook status = %v", w["status"])
	}
}

// TestDevKeepsNoPlainSecretOnDisk runs `webhookd dev`, delivers events to a
// webhook with a secret and credential headers, rotates the secret and tests
// an unsaved webhook, then reads every file under DATA_DIR (webhookd's
// database and its WAL, Temporal's database and histories, the key files)
// and the process's output: none holds a secret in clear. The receiver got
// them all, so they were in use.
func TestDevKeepsNoPlainSecretOnDisk(t *testing.T) {
	dataDir := t.TempDir()
	env := rig.DevEnv(t, dataDir)
	p := rig.StartDev(t, env)
	p.Ready(t)
	rc := rig.NewRecorder(t, rig.Always(200))
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("grep-me-secret-0123456789abcdef!"))
	bearer, apiKey, draftSecret := "Bearer grep-me-bearer-7f3a", "grep-me-apikey-91c2", "grep-me-draft-secret-5e1d"
	api := "http://" + p.API + "/api/v1"
	hook, _ := json.Marshal(map[string]any{
		"name": "grep-hook", "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "*"}},
		"webhookConfig": map[string]any{"endpoint": rc.URL, "secretKey": secret,
			"headers": map[string]any{"Authorization": bearer, "X-API-Key": apiKey}},
	})
	code, body := rig.HTTPDo(t, "POST", api+"/webhooks", string(hook))
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal([]byte(body), &created)
	for i := range 3 {
		if code, body := rig.HTTPDo(t, "POST", api+"/events", fmt.Sprintf(`{"id":"evt-grep-%d","type":"order.created","data":{"n":%d}}`, i, i)); code != 202 {
			t.Fatalf("post: %d %s", code, body)
		}
	}
	rc.WaitHits(t, 3, 30*time.Second)
	code, body = rig.HTTPDo(t, "POST", api+"/webhooks/"+created.ID+"/rotate-secret", "")
	var rotated struct{ SecretKey string }
	if err := json.Unmarshal([]byte(body), &rotated); code != 200 || err != nil {
		t.Fatalf("rotate: %d %s", code, body)
	}
	if code, body := rig.HTTPDo(t, "POST", api+"/events", `{"id":"evt-grep-rotated","type":"order.created"}`); code != 202 {
		t.Fatalf("post: %d %s", code, body)
	}
	rc.WaitHits(t, 4, 30*time.Second)
	draft, _ := json.Marshal(map[string]any{
		"name": "grep-draft", "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "*"}},
		"webhookConfig": map[string]any{"endpoint": rc.URL, "secretKey": draftSecret, "headers": map[string]any{"Authorization": bearer}},
	})
	if code, body := rig.HTTPDo(t, "POST", api+"/webhooks/test", string(draft)); code != 200 {
		t.Fatalf("test before save: %d %s", code, body)
	}
	rc.WaitHits(t, 5, 10*time.Second)
	for i := range 5 {
		h := rc.Get(i).Header
		if h.Get("Authorization") != bearer || (i < 4 && h.Get("X-API-Key") != apiKey) {
			t.Fatalf("request %d reached the receiver without its credentials: %v", i, h)
		}
	}
	if code, body := rig.HTTPDo(t, "GET", api+"/webhooks/"+created.ID, ""); code != 200 || strings.Contains(body, "grep-me") {
		t.Fatalf("a read shows a secret: %d %s", code, body)
	}
	plain := []string{secret, strings.TrimPrefix(secret, "whsec_"), bearer, "grep-me-bearer", apiKey, draftSecret,
		rotated.SecretKey, strings.TrimPrefix(rotated.SecretKey, "whsec_")}
	// Read while running (write-ahead logs hold the latest writes) and
	// after a stop (every write has reached the database files).
	scanDataDir(t, dataDir, plain)
	p.Stop(t)
	scanDataDir(t, dataDir, plain)
	for _, s := range plain {
		if strings.Contains(p.Out.String(), s) {
			t.Errorf("the process output holds %q", s)
		}
	}
}

// scanDataDir fails the test if any file under dir holds one of plain.
func scanDataDir(t *testing.T, dir string, plain []string) {
	t.Helper()
	var names []string
	sawEvent := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a journal the running process just removed
		}
		if err != nil {
			return err
		}
		names = append(names, strings.TrimPrefix(path, dir+"/"))
		sawEvent = sawEvent || bytes.Contains(b, []byte("evt-grep-rotated"))
		for _, s := range plain {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in clear", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %s", strings.Join(names, ", "))
	// The search reads the databases the deliveries went through.
	if !sawEvent {
		t.Fatal("no file holds the last event's id: the search cannot see the data")
	}
}
