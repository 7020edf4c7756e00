package models

import "time"

// ConsoleRevocation is a console session signed out before it expired: its
// cookie no longer signs anyone in, on any replica. The row can go once
// ExpiresAt has passed (the cookie has expired by itself).
type ConsoleRevocation struct {
	SessionID string `gorm:"primaryKey"`
	ExpiresAt time.Time
}
