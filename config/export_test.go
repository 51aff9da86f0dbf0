package config

import "testing"

// Test seams for the black-box tests in package config_test.

// SetHostname makes the default of store.jetstream.node come from f until
// the test ends.
func SetHostname(t testing.TB, f func() (string, error)) {
	old := hostname
	hostname = f
	t.Cleanup(func() { hostname = old })
}
