package outbox

// RankSQL exposes rankSQL to the external tests.
var RankSQL = rankSQL
