// Minimal typings for vendor SDKs that ship none, covering only what the
// protocol tests call. (@alicloud/pop-core ships its own lib/rpc.d.ts.)

declare module 'ali-oss' {
  interface OSSOptions {
    endpoint?: string;
    bucket?: string;
    region?: string;
    accessKeyId: string;
    accessKeySecret: string;
    stsToken?: string;
    authorizationV4?: boolean;
    [option: string]: unknown;
  }

  interface OSSResult {
    name?: string;
    res: { status: number; headers: Record<string, string> };
  }

  class OSS {
    constructor(options: OSSOptions);
    put(name: string, file: Buffer | string, options?: Record<string, unknown>): Promise<OSSResult>;
    multipartUpload(
      name: string,
      file: Buffer | string,
      options?: { partSize?: number; [option: string]: unknown },
    ): Promise<OSSResult>;
    /** Base64 policy plus its V1 signature, as the PostObject form fields. */
    calculatePostSignature(policy: object | string): { OSSAccessKeyId: string; Signature: string; policy: string };
  }

  export default OSS;
}
