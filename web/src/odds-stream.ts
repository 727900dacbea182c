// Keeps one StreamOdds call open: reconnects after a drop with the last resume token (the
// service replays what was missed, or sends a full image when the gap is too old), and treats
// a silent stream (no heartbeat for three intervals) as dropped.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Api } from "./api.js";
import type { Applied, OddsBoardState } from "./odds-state.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SubscriptionFilterSchema } from "./gen/betmesh/live/v1/live_odds_service_pb.js";

export type StreamStatus = "connecting" | "live" | "lost" | "stopped";

const HEARTBEAT_MS = 5_000;
const MAX_BACKOFF_MS = 8_000;

export interface StreamOptions {
  filter?: MessageInitShape<typeof SubscriptionFilterSchema>;
  conflateMs?: number;
  onApplied: (applied: Applied) => void;
  onStatus: (status: StreamStatus, detail?: string) => void;
}

export class OddsStream {
  private stopped = false;
  private current: AbortController | null = null;
  /** Reconnections made with a resume token (shown to tests and operators). */
  resumes = 0;

  constructor(
    private readonly api: Api,
    private readonly state: OddsBoardState,
    private readonly options: StreamOptions,
  ) {}

  private wake: (() => void) | null = null;
  // A browser that knows it went offline has lost the stream whatever the socket says; back
  // online, reconnect at once instead of waiting out the backoff.
  private readonly onOffline = () => this.current?.abort();
  private readonly onOnline = () => this.wake?.();

  start(): void {
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    this.current?.abort();
    this.wake?.();
    this.options.onStatus("stopped");
  }

  /** Drops the current call on purpose (the loop then resumes); for a "reconnect" control. */
  drop(): void {
    this.current?.abort();
  }

  private async loop(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      const controller = new AbortController();
      this.current = controller;
      let watchdog = 0;
      const arm = () => {
        window.clearTimeout(watchdog);
        watchdog = window.setTimeout(() => controller.abort(), HEARTBEAT_MS * 3);
      };
      this.options.onStatus("connecting");
      const resuming = this.state.resumeToken !== "";
      try {
        arm();
        const stream = this.api.live.streamOdds(
          {
            filter: this.options.filter,
            resumeToken: this.state.resumeToken,
            heartbeatIntervalMs: HEARTBEAT_MS,
            conflateMs: this.options.conflateMs ?? 0,
          },
          { signal: controller.signal },
        );
        let first = true;
        for await (const message of stream) {
          arm();
          if (first) {
            first = false;
            if (resuming) this.resumes += 1;
            this.options.onStatus("live");
            backoff = 250;
          }
          this.options.onApplied(this.state.apply(message));
        }
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof ConnectError && error.code === Code.Unauthenticated) {
          this.options.onStatus("stopped", error.rawMessage);
          return;
        }
        this.options.onStatus("lost", error instanceof Error ? error.message : String(error));
      } finally {
        window.clearTimeout(watchdog);
      }
      if (this.stopped) return;
      this.options.onStatus("lost");
      await new Promise<void>((resolve) => {
        const timer = navigator.onLine ? window.setTimeout(resolve, backoff) : undefined;
        this.wake = () => {
          window.clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}
