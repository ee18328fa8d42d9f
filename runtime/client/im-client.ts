// IM's answer convention on top of the XML-RPC client: every method answers `[true, value]` or
// `[false, message]` (IM behaviour §1.2); `call` returns the value or throws ImCallError.
import { TransportError, XmlRpcClient, type XmlRpcClientOptions } from "./xmlrpc-client.ts";

export { RpcFault, TransportError, normalizeUrl } from "./xmlrpc-client.ts";

/** The server answered `[false, message]`. */
export class ImCallError extends Error {
  override name = "ImCallError";
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(message);
  }
}

export class ImClient {
  readonly rpc: XmlRpcClient;

  constructor(options: XmlRpcClientOptions) {
    this.rpc = new XmlRpcClient(options);
  }

  get url(): URL {
    return this.rpc.url;
  }

  async call<T = unknown>(method: string, ...params: unknown[]): Promise<T> {
    const answer = await this.rpc.call(method, params);
    if (!Array.isArray(answer) || answer.length !== 2 || typeof answer[0] !== "boolean") {
      throw new TransportError(`${this.url.origin} answered ${method} with ${JSON.stringify(answer)?.slice(0, 100)}, not IM's [success, value] (is this an IM server?)`, "EPROTO_IM");
    }
    if (!answer[0]) throw new ImCallError(method, String(answer[1]));
    return answer[1] as T;
  }
}
