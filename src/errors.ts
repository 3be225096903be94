// One registry of the service's own error codes. Every layer throws AppError
// with one of these codes; the native API renders it as-is and each dialect
// maps the code to its vendor's code and envelope (src/http/dialects/*/errors.ts).
// docs/errors.md lists every code; a test keeps the two in step.

export const ErrorCodes = {
  InvalidRequest: { status: 400, message: 'The request is malformed' },
  InvalidParameter: { status: 400, message: 'A parameter has an invalid value' },
  MissingParameter: { status: 400, message: 'A required parameter is missing' },
  InvalidFileName: { status: 400, message: 'The file name is not acceptable' },
  Unauthenticated: { status: 401, message: 'No credentials were given' },
  UnknownKey: { status: 401, message: 'The access key is unknown' },
  RevokedKey: { status: 401, message: 'The access key has been revoked' },
  BadSignature: { status: 403, message: 'The signature does not match' },
  ClockSkew: { status: 401, message: 'The request time is too far from the server time' },
  NonceReused: { status: 401, message: 'The nonce has already been used' },
  TokenExpired: { status: 401, message: 'The access token has expired' },
  InvalidToken: { status: 401, message: 'The access token is not valid' },
  Forbidden: { status: 403, message: 'Not allowed' },
  CredentialExpired: { status: 403, message: 'The upload credential has expired' },
  RateLimited: { status: 429, message: 'Too many requests' },
  NotFound: { status: 404, message: 'Not found' },
  AccountNotFound: { status: 404, message: 'The account does not exist' },
  UploadNotFound: { status: 404, message: 'The upload does not exist' },
  AccountExists: { status: 409, message: 'An account with this name already exists' },
  KeyAlreadyRevoked: { status: 409, message: 'The key is already revoked' },
  UploadAlreadyCompleted: { status: 409, message: 'This upload has already received its file' },
  UploadNotReady: { status: 409, message: 'The upload has not completed' },
  AudienceNotFound: { status: 404, message: 'The audience does not exist' },
  ChangeNotFound: { status: 404, message: 'The audience change does not exist' },
  VersionNotFound: { status: 404, message: 'The audience version does not exist or has been retired' },
  ExportNotFound: { status: 404, message: 'The export does not exist' },
  JobNotFound: { status: 404, message: 'The job does not exist' },
  AudienceNameTaken: { status: 409, message: 'An audience with this name already exists' },
  AudienceNotReady: { status: 409, message: 'The audience has no built version yet' },
  UpdateTooSoon: { status: 409, message: 'The resource cannot be changed again this soon' },
  ActionSetNotFound: { status: 404, message: 'The user action set does not exist' },
  ActionSetNameTaken: { status: 409, message: 'A user action set with this name already exists' },
  EventLoadNotFound: { status: 404, message: 'The event load does not exist' },
  NotAvailable: { status: 501, message: 'This capability is not available on this deployment' },
  UnknownCluster: { status: 400, message: 'Unknown data cluster' },
  UnsupportedRegion: { status: 400, message: 'The region is not supported' },
  Md5Mismatch: { status: 400, message: 'The MD5 of the received content does not match the declared MD5' },
  SizeMismatch: { status: 400, message: 'The size of the received content does not match the declared size' },
  IncompleteBody: { status: 400, message: 'The body ended before its declared length' },
  TooLarge: { status: 413, message: 'The file is larger than allowed' },
  TooSmall: { status: 400, message: 'The file is smaller than allowed' },
  NotAudienceFile: { status: 422, message: 'The content is not a text or CSV audience file' },
  GzipCorrupt: { status: 422, message: 'The gzip stream is corrupt or truncated' },
  GzipBomb: { status: 422, message: 'The gzip content expands beyond the allowed ratio' },
  InvalidPart: { status: 400, message: 'A multipart part is missing or does not match' },
  NoSuchUpload: { status: 404, message: 'The multipart upload does not exist' },
  InternalError: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** The field, header or line the error is about, when there is one. */
    readonly field?: string,
  ) {
    super(message ?? ErrorCodes[code].message);
    this.name = 'AppError';
    this.status = ErrorCodes[code].status;
  }
}

export const err = (code: ErrorCode, message?: string, field?: string) => new AppError(code, message, field);

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
