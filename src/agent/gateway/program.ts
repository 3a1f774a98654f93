/**
 * The gateway program as the files `gateway ensure` puts in its ConfigMap: src/agent/pod/gateway.js and the
 * meter and budget ledger and the durable book of figures it requires from its own directory
 * (src/agent/pod/gatewaymeter.js, gatewayjournal.js). The ConfigMap
 * is mounted as one directory, so every file here sits beside gateway.js in the pod.
 */
import GATEWAY_JS from "../pod/gateway.js" with { type: "text" };
import GATEWAY_METER_JS from "../pod/gatewaymeter.js" with { type: "text" };
import GATEWAY_JOURNAL_JS from "../pod/gatewayjournal.js" with { type: "text" };

export const GATEWAY_PROGRAM: Record<string, string> = {
  "gateway.js": GATEWAY_JS,
  "gatewaymeter.js": GATEWAY_METER_JS,
  "gatewayjournal.js": GATEWAY_JOURNAL_JS,
};
