import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MessageSecurityMode, OPCUACertificateManager, SecurityPolicy } from 'node-opcua';
import type { Logger } from 'pino';

/** What config says about the server's message security (validated in src/config/schema.ts). */
export interface OpcuaSecuritySettings {
  /** The PKI folder; node-opcua's own default is the user's home, which a service does not own. */
  pkiDir: string;
  securityModes: readonly ('None' | 'Sign' | 'SignAndEncrypt')[];
  trustUnknownClients: boolean;
}

/**
 * The PKI, laid out in the daemon's state directory (docs/opcua.md):
 *
 *   {pkiDir}/server/own/certs/certificate.pem        the server certificate (made at first start)
 *   {pkiDir}/server/own/private/private_key.pem      its key
 *   {pkiDir}/server/trusted/certs/                   client certificates allowed in
 *   {pkiDir}/server/rejected/certs/                  client certificates seen and refused
 *   {pkiDir}/server/issuers/certs/, .../crl/         CAs of client certificates, and their CRLs
 *   {pkiDir}/user-tokens/                            X.509 user tokens (not accepted: its trust list stays empty)
 */
export function pkiLayout(pkiDir: string): { server: string; userTokens: string; certificateFile: string; privateKeyFile: string } {
  const server = join(pkiDir, 'server');
  return {
    server,
    userTokens: join(pkiDir, 'user-tokens'),
    certificateFile: join(server, 'own', 'certs', 'certificate.pem'),
    privateKeyFile: join(server, 'own', 'private', 'private_key.pem'),
  };
}

/** The certificate managers (both rooted in pkiDir, never $HOME) and the endpoints' modes and policies. */
export async function serverSecurity(s: OpcuaSecuritySettings, log: Logger) {
  const layout = pkiLayout(s.pkiDir);
  mkdirSync(s.pkiDir, { recursive: true, mode: 0o750 });
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: layout.server, automaticallyAcceptUnknownCertificate: s.trustUnknownClients, name: 'inspectd-server' });
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: layout.userTokens, automaticallyAcceptUnknownCertificate: false, name: 'inspectd-user-tokens' });
  await serverCertificateManager.initialize();
  await userCertificateManager.initialize();
  if (s.trustUnknownClients) log.warn({ pki: layout.server }, 'opcua.trustUnknownClients is true: any client certificate is accepted (and added to trusted/)');
  const securityModes = s.securityModes.map((m) => MessageSecurityMode[m]);
  // Basic256Sha256 is the policy every current PLC stack offers; None is there only when asked for
  // (config allows it on loopback, or on the network with allowInsecureNone).
  const securityPolicies = [...(s.securityModes.includes('None') ? [SecurityPolicy.None] : []), SecurityPolicy.Basic256Sha256];
  return { serverCertificateManager, userCertificateManager, certificateFile: layout.certificateFile, privateKeyFile: layout.privateKeyFile, securityModes, securityPolicies };
}
