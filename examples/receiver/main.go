// Command receiver is the smallest webhook receiver that checks webhookd's
// signatures: it verifies each request with the official Standard Webhooks
// library (github.com/standard-webhooks/standard-webhooks) and prints it.
// Your own receiver does the same: read the raw body, verify, then trust it.
//
//	go run ./examples/receiver -addr localhost:9000 -secret whsec_...
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func main() {
	addr := flag.String("addr", "localhost:9000", "address to listen on")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "the webhook's secretKey (whsec_...)")
	flag.Parse()
	wh, err := standardwebhooks.NewWebhook(*secret)
	if err != nil {
		log.Fatalf("-secret: %v", err)
	}
	log.Printf("receiving webhooks on http://%s/", *addr)
	log.Fatal(http.ListenAndServe(*addr, handler(wh, os.Stdout)))
}

// handler answers 204 to a request whose signature verifies, 401 otherwise,
// and prints what it got. A GET answers 200, so you can see it runs.
func handler(wh *standardwebhooks.Webhook, out io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			fmt.Fprintln(w, "POST webhooks here")
			return
		}
		body, err := io.ReadAll(r.Body) // the raw bytes: the signature covers exactly these
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			fmt.Fprintf(out, "REFUSED %s: %v\n", r.Header.Get("webhook-id"), err)
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(out, "verified %s %s (attempt %s)\n%s\n", r.Header.Get("webhook-id"),
			r.Header.Get("X-Event-Type"), r.Header.Get("X-Webhook-Attempt"), body)
		w.WriteHeader(http.StatusNoContent)
	})
}
