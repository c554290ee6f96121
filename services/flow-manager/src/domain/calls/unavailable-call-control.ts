import { appError } from '@avp/shared';
import type { CallControl, ExternalMedia, SnoopMedia } from './call-control.ts';

/** Call control when no Asterisk is configured: every call action fails with a clear reason. */
export class UnavailableCallControl implements CallControl {
  private fail(): never {
    throw appError('SERVICE_UNAVAILABLE', 'No Asterisk is configured (ARI_URL), so call actions cannot run.');
  }
  async answer(): Promise<void> {
    this.fail();
  }
  async talk(): Promise<void> {
    this.fail();
  }
  async play(): Promise<void> {
    this.fail();
  }
  async hangup(): Promise<void> {
    this.fail();
  }
  async connect(): Promise<{ answered: boolean }> {
    this.fail();
  }
  async originate(): Promise<void> {
    this.fail();
  }
  async collectDigits(): Promise<string> {
    this.fail();
  }
  async startExternalMedia(): Promise<ExternalMedia> {
    this.fail();
  }
  async attachExternalMedia(): Promise<ExternalMedia> {
    this.fail();
  }
  async stopExternalMedia(): Promise<void> {
    this.fail();
  }
  async startSnoopMedia(): Promise<SnoopMedia> {
    this.fail();
  }
  async stopSnoopMedia(): Promise<boolean> {
    this.fail();
  }
  async startRecording(): Promise<void> {
    this.fail();
  }
  async stopRecording(): Promise<boolean> {
    this.fail();
  }
  async stopMedia(): Promise<void> {
    this.fail();
  }
  async createBridge(): Promise<string> {
    this.fail();
  }
  async addToBridge(): Promise<void> {
    this.fail();
  }
  async removeFromBridge(): Promise<void> {
    this.fail();
  }
  async destroyBridge(): Promise<void> {
    this.fail();
  }
}
