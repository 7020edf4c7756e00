package runner

import "testing"

func TestDeliveryLinks(t *testing.T) {
	if DeliveryLinks("", "default") != nil {
		t.Fatal("a link without a Web UI")
	}
	link := DeliveryLinks("http://127.0.0.1:8233/", "team a")
	if got, want := link("d1"), "http://127.0.0.1:8233/namespaces/team%20a/workflows/delivery-d1"; got != want {
		t.Fatalf("link = %s, want %s", got, want)
	}
	if got := DeliveryLinks("http://ui", "")("d1"); got != "http://ui/namespaces/default/workflows/delivery-d1" {
		t.Fatalf("link without a namespace = %s", got)
	}
}
