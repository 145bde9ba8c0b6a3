// undici's Client on its own (lib/dispatcher/client.js), without undici's index: its types are
// those of the Client the index exports.
declare module 'undici/lib/dispatcher/client.js' {
  import { Client } from 'undici';
  export default Client;
}

// undici's connector factory on its own (lib/core/connect.js): the Client's own connector, which
// the agent wraps to keep a handle on the socket while it connects.
declare module 'undici/lib/core/connect.js' {
  import { buildConnector } from 'undici';
  export default buildConnector;
}
