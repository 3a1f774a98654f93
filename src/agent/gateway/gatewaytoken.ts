/**
 * The gateway's session tokens, as the agent floor uses them (minted at start, verified in tests): the
 * format and its functions live in src/session/spec/gatewaytoken.ts, where `resume` and `delete` reach them.
 */
export * from "../../session/spec/gatewaytoken.ts";
