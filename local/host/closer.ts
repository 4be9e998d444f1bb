/** Closes whatever was started, in reverse order, even when starting failed half-way. */
export class Closer {
  private readonly steps: (() => Promise<unknown> | unknown)[] = [];

  add(step: () => Promise<unknown> | unknown): void {
    this.steps.push(step);
  }

  /** Registers `service.close()` and hands the service back, so starting and closing read as one line. */
  keep<T extends { close(): unknown }>(service: T): T {
    this.add(() => service.close());
    return service;
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Shutdown goes on: one stuck piece must not keep the others running.
      }
    }
  }
}
