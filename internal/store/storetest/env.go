package storetest

import "os"

// lookupEnv is the one place tests read the environment for database setup.
func lookupEnv(key string) string { return os.Getenv(key) }
