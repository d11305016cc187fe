/**
 * The platform API as the dashboard uses it (docs/platform.md is the contract): typed
 * shapes of its answers, JSON fetches that turn a 4xx body's `error` into the thrown
 * message, and the token kept in localStorage.
 */

export interface Estimate {
  mean: number;
  std: number;
  /** Half-width of the 95% confidence interval of the mean. */
  ci95: number;
  n: number;
}

export interface Competition {
  id: string;
  title: string;
  seedStart: number;
  simulations: number;
  opponents: string[];
  steps: number;
  epochLen: number;
}

export interface LeaderboardRow {
  rank: number;
  tiedWithAbove: boolean;
  entryId: string;
  jobId: string;
  author: string;
  name: string;
  version: number;
  strategySha256: string;
  createdAt: number;
  vsNormalizer: Estimate;
  edge: Estimate;
  vsLeader: Estimate | null;
  vsAbove: Estimate | null;
}

export type JobType = "validate" | "run" | "submit" | "eval" | "train";
export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const JOB_TYPES: readonly JobType[] = ["submit", "validate", "run", "eval", "train"];
export const JOB_STATES: readonly JobState[] = ["queued", "running", "succeeded", "failed", "cancelled"];
export const isTerminal = (s: JobState): boolean => s === "succeeded" || s === "failed" || s === "cancelled";

export interface ArtifactInfo {
  name: string;
  contentType: string;
  size: number;
}

export interface Job {
  id: string;
  job_type: JobType;
  state: JobState;
  author: string;
  competition: string | null;
  strategy_sha256: string | null;
  name: string | null;
  params: Record<string, unknown>;
  limits: { time_seconds: number; memory_mb: number };
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempts: number;
  max_attempts: number;
  cancel_requested: boolean;
  error: string | null;
  result: Record<string, unknown> | null;
  /** GET /api/jobs/{id} only. */
  artifacts?: ArtifactInfo[];
  /** GET /api/jobs/{id} of a submit job: its leaderboard entry's id, once there is one. */
  entry?: string | null;
}

export interface LogLine {
  id: number;
  at: string;
  stream: "stdout" | "stderr" | "system" | "metrics";
  line: string;
}

export interface EntryDetail {
  entry: {
    id: string;
    competition: string;
    jobId: string;
    strategySha256: string;
    author: string;
    name: string;
    version: number;
    createdAt: number;
    vsNormalizer: number[];
    edge: number[];
  };
  competition: Competition;
  seeds: number[];
  row: LeaderboardRow | null;
  comparisons: {
    entryId: string;
    author: string;
    name: string;
    version: number;
    rank: number;
    diff: Estimate;
    winRate: number;
  }[];
  weightsPerEpoch: number[] | null;
}

export interface AuthorDetail {
  author: string;
  competition: string;
  entries: LeaderboardRow[];
  jobs: Job[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "NETWORK", `the platform did not answer (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below when the status is an error
  }
  if (!res.ok) {
    const e = json as { error?: string; code?: string } | null;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.error ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, token?: string): Promise<T> => call<T>("GET", path, undefined, token),
  post: <T>(path: string, body: unknown, token?: string): Promise<T> => call<T>("POST", path, body, token),
};

export const artifactUrl = (jobId: string, name: string): string =>
  `/api/jobs/${jobId}/artifacts/${name.split("/").map(encodeURIComponent).join("/")}`;

const TOKEN_KEY = "propamm.token";

export function loadToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

export function saveToken(token: string): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives for this page only
  }
}
