export { maskPhone as maskPhoneNumber } from './mask';
