import type { Migrations } from '@avp/shared';

/**
 * pipeline-manager's migrations, applied in name order at start. Names are `NNNN_what`; a migration
 * that has run is never edited, a new one is added instead.
 */
export const migrations: Migrations = {};
