export {
  type InterruptedHandler,
  type PorterExpressOptions,
  type PorterTypes,
  type PorterUser,
  porter,
} from "./middleware.js";
export type { PorterContext, PorterMessagesOptions, PorterOptions, ResponseHeaders } from "./scope.js";
