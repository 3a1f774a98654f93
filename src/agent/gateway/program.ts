/** The gateway program (src/agent/pod/gateway.js), as the text `gateway ensure` puts in its ConfigMap. */
import GATEWAY_JS from "../pod/gateway.js" with { type: "text" };

export const GATEWAY_PROGRAM: string = GATEWAY_JS;
