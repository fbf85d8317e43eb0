/** WebSocket close codes the realtime server uses (no dependency on `ws`: they are part of the public types). */
export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  tryAgainLater: 1013,
  reconnect: 4000,
  sessionEnded: 4401,
} as const;
