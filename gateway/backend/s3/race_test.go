//go:build race

package s3

// raceEnabled: the tests run under the race detector.
const raceEnabled = true
