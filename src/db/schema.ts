import type { ColumnType, SqlBool } from 'kysely'

/** Timestamps are written as Date and read back as ISO 8601 UTC strings on both dialects. */
export type Timestamp = ColumnType<string, Date, Date>
export type NullableTimestamp = ColumnType<string | null, Date | null | undefined, Date | null>
export type Bool = ColumnType<SqlBool, boolean, boolean>

export type Role = 'owner' | 'admin' | 'editor' | 'viewer'

export interface MetaTable {
  key: string
  value: string
}

export interface DataKeysTable {
  id: number
  wrapped_key: string
  created_at: Timestamp
}

export interface AccountsTable {
  id: string
  name: string
  created_at: Timestamp
  updated_at: Timestamp
}

export interface UsersTable {
  id: string
  email_ciphertext: string
  email_index: string
  name_ciphertext: string
  password_hash: string | null
  password_changed_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface MembershipsTable {
  account_id: string
  user_id: string
  role: Role
  can_invite: Bool
  created_at: Timestamp
}

export interface SessionsTable {
  id_hash: string
  user_id: string
  created_at: Timestamp
  last_seen_at: Timestamp
  expires_at: Timestamp
  ip: string
  user_agent: string
}

export type AuthTokenPurpose = 'password_reset' | 'setup' | 'signup'

export interface AuthTokensTable {
  token_hash: string
  purpose: AuthTokenPurpose
  user_id: string | null
  payload_ciphertext: string | null
  created_at: Timestamp
  expires_at: Timestamp
  used_at: NullableTimestamp
}

export interface AuthThrottlesTable {
  key: string
  failures: number
  window_started_at: Timestamp
  blocked_until: NullableTimestamp
}

export interface MailMessagesTable {
  id: string
  account_id: string | null
  recipient_index: string
  subject: string
  transport: 'smtp' | 'file'
  file_name: string | null
  created_at: Timestamp
}

export interface DatabaseSchema {
  meta: MetaTable
  data_keys: DataKeysTable
  accounts: AccountsTable
  users: UsersTable
  memberships: MembershipsTable
  sessions: SessionsTable
  auth_tokens: AuthTokensTable
  auth_throttles: AuthThrottlesTable
  mail_messages: MailMessagesTable
}
