//go:build race

package gateway

// raceEnabled: the tests run under the race detector.
const raceEnabled = true
