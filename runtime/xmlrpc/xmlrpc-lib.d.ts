// Types for the parts of the `xmlrpc` package (1.3.2, CommonJS) that we use: its serializer,
// deserializer and CustomType. @types/xmlrpc only describes the package root, not these files.

declare module "xmlrpc/lib/customtype.js" {
  /** A value serialised as `<tagName>raw</tagName>`. */
  class CustomType {
    constructor(raw: string);
    raw: string;
    tagName: string;
  }
  export = CustomType;
}

declare module "xmlrpc/lib/serializer.js" {
  /** Each returns a whole document, `<?xml …?>` declaration included. */
  const serializer: {
    serializeMethodResponse(result: unknown): string;
    serializeFault(fault: { faultCode: number; faultString: string }): string;
    serializeMethodCall(method: string, params?: unknown[], encoding?: string): string;
  };
  export = serializer;
}

declare module "xmlrpc/lib/deserializer.js" {
  /** sax-based parser state; the `end*` methods run at each closing tag (names upper-cased). */
  class Deserializer {
    constructor(encoding?: string);
    stack: unknown[];
    marks: number[];
    value: boolean;
    /** The sax stream the constructor creates (non-strict). */
    parser: import("sax").SAXStream;
    onText(text: string): void;
    onCDATA(cdata: string): void;
    onDone(): void;
    onError(error: Error): void;
    push(value: unknown): void;
    onOpentag(node: { name: string; attributes: Record<string, string>; isSelfClosing: boolean }): void;
    onClosetag(name: string): void;
    endInt(data: string): void;
    endI8(data: string): void;
    endStruct(data: string): void;
    endDateTime(data: string): void;
    deserializeMethodCall(
      stream: import("node:stream").Readable,
      callback: (error: Error | null | undefined, method?: string, params?: unknown[]) => void,
    ): void;
    deserializeMethodResponse(
      stream: import("node:stream").Readable,
      callback: (error: (Error & { faultCode?: number; faultString?: string }) | null | undefined, value?: unknown) => void,
    ): void;
  }
  export = Deserializer;
}
