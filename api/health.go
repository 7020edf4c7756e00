package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// databaseHealth is what readiness asks of the database.
type databaseHealth interface {
	Ping(ctx context.Context) error
	CountUndispatched(ctx context.Context) (int64, error)
}

func (s *server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 only when both the database and Temporal answer;
// otherwise 503, naming what is down in "down".
func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"database": "ok", "temporal": "ok"}
	down := []string{}
	out := gin.H{"checks": checks}
	if err := s.store.Ping(ctx); err != nil {
		checks["database"], down = err.Error(), append(down, "database")
	} else if n, err := s.store.CountUndispatched(ctx); err == nil {
		// Deliveries committed but not yet handed to Temporal: informative,
		// not a readiness condition (a backlog drains; it is not an outage).
		out["startBacklog"] = n
	}
	if err := s.temporal.CheckHealth(ctx); err != nil {
		checks["temporal"], down = err.Error(), append(down, "temporal")
	}
	status := http.StatusOK
	if len(down) > 0 {
		status = http.StatusServiceUnavailable
	}
	out["ready"], out["down"] = len(down) == 0, down
	c.JSON(status, out)
}
