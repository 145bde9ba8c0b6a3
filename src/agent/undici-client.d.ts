// undici's Client on its own (lib/dispatcher/client.js), without undici's index: its types are
// those of the Client the index exports.
declare module 'undici/lib/dispatcher/client.js' {
  import { Client } from 'undici';
  export default Client;
}
