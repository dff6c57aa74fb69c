export {
  DEBUG,
  DEFAULT_LEVEL_TAGS,
  DEFAULT_MESSAGE_LEVEL,
  DEFAULT_TAGS,
  ERROR,
  INFO,
  type LevelTags,
  levelTag,
  levelTags,
  messagesEqual,
  messageTags,
  SUCCESS,
  WARNING,
} from "./constants.js";
export {
  decodeMessagesJson,
  encodeMessagesJson,
  MESSAGE_MARKER,
  type MessageJsonOptions,
  messagesFromJson,
  messageToJson,
} from "./json.js";
export {
  type AddMessageOptions,
  createMessages,
  type DisplayMessage,
  type Messages,
  type MessagesOptions,
} from "./messages.js";
export {
  createFallbackStorage,
  createSessionMessageStorage,
  type MessageLoadResultWithCorruption,
  type SessionMessageStorageOptions,
} from "./storages.js";
