/**
 * A typed fetch wrapper for the plugin's routes. Browser code: no Node API, no dependency.
 *
 * The session cookie is the credential (the browser sends it), so nothing here stores a token.
 * Every write sends a JSON body: the plugin accepts only `application/json`, which a cross-site
 * HTML form cannot send.
 *
 * @example
 * const api = createClient();                       // same origin, `/auth` and `/admin`
 * const r = await api.login({ tenant: 'acme', email, password });
 * if (r.state === 'mfa_required') await api.challenge({ method: 'totp', code });
 */
import type {
  AuditList,
  BackupCodes,
  ChallengeInput,
  ChallengeResponse,
  Channel,
  CodeInput,
  CodeSent,
  CreateTenantInput,
  CreateUserInput,
  DeviceList,
  EnrolmentConfirmed,
  ErrorBody,
  LoginInput,
  LoginResponse,
  Method,
  MfaStatus,
  RegisterInput,
  SessionList,
  SessionView,
  StepUpResponse,
  TenantCreated,
  TenantPolicy,
  TenantView,
  TotpEnrolment,
  UserCreated,
  UserDisabledChange,
  UserList,
  PasskeyCreationOptions,
  PasskeyInput,
  PasskeyRegistered,
  PasskeyRequestOptions,
  PasskeyResponse,
  PasskeyView,
} from './types.js';

/** A failed call: the contract's `{error, message}` with the status and `Retry-After`. */
export class ApiError extends Error {
  readonly status: number;
  /** The contract's error code (`invalid_code`, ...), or `network` when the server was not reached. */
  readonly code: string;
  readonly body: ErrorBody;
  /** Seconds, from `Retry-After` (429, 423). */
  readonly retryAfter?: number;

  constructor(status: number, code: string, body: Partial<ErrorBody> = {}, retryAfter?: number) {
    super(typeof body.message === 'string' ? body.message : code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = { ...body, error: code };
    this.retryAfter = retryAfter;
  }
}

/** True for an ApiError, also one made by another copy of this module (two bundles on one page). */
export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError || (err instanceof Error && err.name === 'ApiError' && typeof (err as { code?: unknown }).code === 'string');
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Origin (and path prefix) of the app, e.g. `https://app.example`; default '' (this page's origin). */
  baseUrl?: string;
  /** Where the host mounted `stepUp.router` (default `/auth`) and `stepUp.adminRouter` (default `/admin`). */
  authPath?: string;
  adminPath?: string;
  /** Default: the global fetch. Tests and other runtimes pass their own. */
  fetch?: FetchLike;
  /** Default `same-origin`; `include` when the API is on another origin that allows credentials. */
  credentials?: RequestCredentials;
}

export interface StepUpClient {
  /** Any JSON route, the host's own included: resolves with the body (`{}` for 204), throws ApiError. */
  request<T = Record<string, unknown>>(method: HttpMethod, path: string, body?: unknown): Promise<T>;

  session(): Promise<SessionView>;
  login(input: LoginInput): Promise<LoginResponse>;
  /** The second factor of a login waiting in `mfa_required`. */
  challenge(input: ChallengeInput | (PasskeyInput & { remember?: boolean })): Promise<ChallengeResponse>;
  /** A code by email or SMS, for the waiting login or a step-up. */
  sendCode(channel: Channel): Promise<CodeSent>;
  stepUp(input: CodeInput | PasskeyInput): Promise<StepUpResponse>;
  logout(): Promise<void>;
  logoutAll(): Promise<void>;

  mfaStatus(): Promise<MfaStatus>;
  enrolTotp(): Promise<TotpEnrolment>;
  confirmTotp(code: string): Promise<EnrolmentConfirmed>;
  enrolEmail(): Promise<CodeSent>;
  confirmEmail(code: string): Promise<EnrolmentConfirmed>;
  enrolSms(input: { phone: string; country?: string }): Promise<CodeSent>;
  confirmSms(code: string): Promise<EnrolmentConfirmed>;
  /** Needs a fresh step-up (see withStepUp). */
  regenerateBackupCodes(): Promise<BackupCodes>;
  /** Needs a fresh step-up; 403 `policy_requires_mfa` for the last factor of a required policy. */
  disableMethod(method: Method): Promise<void>;

  /**
   * Passkeys. The client passes the server's options to the browser (e.g. `startRegistration` /
   * `startAuthentication` of @simplewebauthn/browser) and sends back its JSON answer.
   */
  passkeyRegistrationOptions(): Promise<PasskeyCreationOptions>;
  /** Stores the new passkey; the account's first factor also brings backup codes (shown once). */
  registerPasskey(input: { response: PasskeyResponse; name?: string }): Promise<PasskeyRegistered>;
  /** Options for the waiting login's passkey or a step-up; then `challenge`/`stepUp` with `{method: 'webauthn', response}`. */
  passkeyAuthenticationOptions(): Promise<PasskeyRequestOptions>;
  listPasskeys(): Promise<{ credentials: PasskeyView[] }>;
  renamePasskey(id: string, name: string): Promise<PasskeyView>;
  /** Needs a fresh step-up; 403 `policy_requires_mfa` for the last factor of a required policy. */
  removePasskey(id: string): Promise<void>;
  /** Passwordless sign-in (tenant policy `passwordlessPasskeys`): options, then the answer. */
  passkeyLoginOptions(tenant: string): Promise<PasskeyRequestOptions>;
  passkeyLogin(input: { tenant: string; response: PasskeyResponse }): Promise<ChallengeResponse>;

  register(input: RegisterInput): Promise<{ status: 'pending_verification' }>;
  verifyEmail(token: string): Promise<{ verified: true }>;
  resendVerification(): Promise<CodeSent>;
  forgotPassword(input: { tenant: string; email: string }): Promise<{ status: 'reset_requested' }>;
  resetPassword(input: { token: string; newPassword: string }): Promise<{ reset: true }>;
  changePassword(input: { currentPassword: string; newPassword: string }): Promise<void>;

  /** Where this user is signed in (`truncated` when more than one answer holds). */
  listSessions(): Promise<SessionList>;
  /** Ends one of the user's sessions (this one too: the browser is then signed out). */
  endSession(id: string): Promise<void>;
  /** Remembered browsers of this user. */
  listDevices(): Promise<DeviceList>;
  forgetDevice(id: string): Promise<void>;

  admin: {
    listTenants(): Promise<{ tenants: TenantView[] }>;
    createTenant(input: CreateTenantInput): Promise<TenantCreated>;
    listUsers(slug: string, page?: { limit?: number; after?: string }): Promise<UserList>;
    createUser(slug: string, input: CreateUserInput): Promise<UserCreated>;
    resetMfa(slug: string, userId: string): Promise<void>;
    disableUser(slug: string, userId: string): Promise<UserDisabledChange>;
    enableUser(slug: string, userId: string): Promise<UserDisabledChange>;
    updatePolicy(slug: string, patch: Partial<TenantPolicy>): Promise<TenantPolicy>;
    audit(slug: string, page?: { limit?: number; before?: string }): Promise<AuditList>;
  };
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function createClient(options: ClientOptions = {}): StepUpClient {
  const base = (options.baseUrl ?? '').replace(/\/+$/, '');
  const auth = options.authPath ?? '/auth';
  const adminBase = options.adminPath ?? '/admin';
  const credentials = options.credentials ?? 'same-origin';
  // Looked up per call, so a page that replaces fetch later (tests, polyfills) is honoured.
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const init: RequestInit = { method, credentials, headers };
    if (method !== 'GET') {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body ?? {});
    }
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, init);
    } catch {
      throw new ApiError(0, 'network');
    }
    if (res.status === 204) return {} as T;
    const text = await res.text().catch(() => '');
    let data: Record<string, unknown> = {};
    if (text) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object') data = parsed as Record<string, unknown>;
      } catch {
        // A proxy's HTML error page: the status says enough.
      }
    }
    if (!res.ok) {
      const retry = Number(res.headers.get('retry-after'));
      const code = typeof data.error === 'string' ? data.error : res.status === 404 ? 'not_found' : res.status === 503 ? 'unavailable' : 'internal_error';
      throw new ApiError(res.status, code, data as Partial<ErrorBody>, Number.isFinite(retry) && retry > 0 ? retry : undefined);
    }
    return data as T;
  }

  const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
  const none = async (p: Promise<unknown>): Promise<void> => {
    await p;
  };
  const tenantPath = (slug: string) => `${adminBase}/tenants/${encodeURIComponent(slug)}`;
  const userPath = (slug: string, id: string) => `${tenantPath(slug)}/users/${encodeURIComponent(id)}`;

  return {
    request,
    session: () => request<SessionView>('GET', `${auth}/session`),
    login: (input) => post<LoginResponse>(`${auth}/login`, input),
    challenge: (input) => post<ChallengeResponse>(`${auth}/mfa/challenge`, input),
    sendCode: (channel) => post<CodeSent>(`${auth}/mfa/${channel}/send`),
    stepUp: (input) => post<StepUpResponse>(`${auth}/step-up`, input),
    logout: () => none(post(`${auth}/logout`)),
    logoutAll: () => none(post(`${auth}/logout-all`)),

    mfaStatus: () => request<MfaStatus>('GET', `${auth}/mfa/status`),
    enrolTotp: () => post<TotpEnrolment>(`${auth}/mfa/totp/enroll`),
    confirmTotp: (code) => post<EnrolmentConfirmed>(`${auth}/mfa/totp/verify`, { code }),
    enrolEmail: () => post<CodeSent>(`${auth}/mfa/email/enroll`),
    confirmEmail: (code) => post<EnrolmentConfirmed>(`${auth}/mfa/email/verify`, { code }),
    enrolSms: (input) => post<CodeSent>(`${auth}/mfa/sms/enroll`, input),
    confirmSms: (code) => post<EnrolmentConfirmed>(`${auth}/mfa/sms/verify`, { code }),
    regenerateBackupCodes: () => post<BackupCodes>(`${auth}/mfa/backup-codes/regenerate`),
    disableMethod: (method) => none(post(`${auth}/mfa/disable`, { method })),
    passkeyRegistrationOptions: () => post<PasskeyCreationOptions>(`${auth}/mfa/webauthn/register/options`),
    registerPasskey: (input) => post<PasskeyRegistered>(`${auth}/mfa/webauthn/register/verify`, input),
    passkeyAuthenticationOptions: () => post<PasskeyRequestOptions>(`${auth}/mfa/webauthn/authenticate/options`),
    listPasskeys: () => request<{ credentials: PasskeyView[] }>('GET', `${auth}/mfa/webauthn/credentials`),
    renamePasskey: (id, name) => request<PasskeyView>('PATCH', `${auth}/mfa/webauthn/credentials/${encodeURIComponent(id)}`, { name }),
    removePasskey: (id) => none(request('DELETE', `${auth}/mfa/webauthn/credentials/${encodeURIComponent(id)}`)),
    passkeyLoginOptions: (tenant) => post<PasskeyRequestOptions>(`${auth}/passkey/options`, { tenant }),
    passkeyLogin: (input) => post<ChallengeResponse>(`${auth}/passkey/login`, input),

    register: (input) => post(`${auth}/register`, input),
    verifyEmail: (token) => post(`${auth}/verify-email`, { token }),
    resendVerification: () => post<CodeSent>(`${auth}/verify-email/resend`),
    forgotPassword: (input) => post(`${auth}/password/forgot`, input),
    resetPassword: (input) => post(`${auth}/password/reset`, input),
    changePassword: (input) => none(post(`${auth}/password`, input)),

    listSessions: () => request<SessionList>('GET', `${auth}/sessions`),
    endSession: (id) => none(request('DELETE', `${auth}/sessions/${encodeURIComponent(id)}`)),
    listDevices: () => request<DeviceList>('GET', `${auth}/devices`),
    forgetDevice: (id) => none(request('DELETE', `${auth}/devices/${encodeURIComponent(id)}`)),

    admin: {
      listTenants: () => request('GET', `${adminBase}/tenants`),
      createTenant: (input) => post<TenantCreated>(`${adminBase}/tenants`, input),
      listUsers: (slug, page = {}) => request<UserList>('GET', `${tenantPath(slug)}/users${query(page)}`),
      createUser: (slug, input) => post<UserCreated>(`${tenantPath(slug)}/users`, input),
      resetMfa: (slug, id) => none(post(`${userPath(slug, id)}/mfa/reset`)),
      disableUser: (slug, id) => post<UserDisabledChange>(`${userPath(slug, id)}/disable`),
      enableUser: (slug, id) => post<UserDisabledChange>(`${userPath(slug, id)}/enable`),
      updatePolicy: (slug, patch) => request<TenantPolicy>('PATCH', `${tenantPath(slug)}/policy`, patch),
      audit: (slug, page = {}) => request<AuditList>('GET', `${tenantPath(slug)}/audit${query(page)}`),
    },
  };
}
