//go:build race

package routing_test

// raceOn: under the race detector the bursts are smaller (same shape, a third of the size).
const raceOn = true
