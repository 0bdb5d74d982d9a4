//go:build !race

package routing_test

const raceOn = false
